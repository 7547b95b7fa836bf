/**
 * The isolate's metrics buffer: increments, histogram observations and gauge values of the contract
 * families, with every label value bounded (see labels.ts), kept in memory until the flusher drains
 * them into one batch for the shared store.
 *
 * Written here rather than taken from prom-client or @hono/prometheus: those keep a live registry
 * whose `/metrics` shows one isolate, while edge isolates are many and short-lived
 * (ARCHITECTURE.md). This buffer only holds what changed since the last flush.
 * @module
 */
import {
  type CounterName,
  FAMILIES,
  type HistogramName,
  type IsolateGaugeName,
  type LatestGaugeName,
  type MetricFamily,
} from "./families.ts";
import { boundLabel, escapeLabelValue, type LabelRule } from "./labels.ts";

/** Label values by label name. */
export type LabelValues = Readonly<Record<string, string>>;

/**
 * How the shared store combines a sample: `c` adds it (counters, histogram parts), `g` keeps it per
 * isolate (summed over fresh isolates), `l` replaces the stored value (latest wins).
 */
export type SampleKind = "c" | "g" | "l";

/** One sample of a batch: a counter increment or a gauge value. */
export interface BatchSample {
  /** Sample name: the family's, or with `_bucket` / `_sum` / `_count` for histograms. */
  name: string;
  /** Rendered label pairs without `le`, e.g. `function="api",route="/api/v1/products"`. */
  labels: string;
  /** Upper bound of a `_bucket` sample (`0.5`, `+Inf`); empty otherwise. */
  le: string;
  kind: SampleKind;
  value: number;
}

interface Histogram {
  /** Observations per bucket, not cumulative; the last slot is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

interface FamilyState {
  family: MetricFamily;
  names: string[];
  rules: LabelRule[];
  /** Upper bounds as written in `le`. */
  le: string[];
}

/** Options of {@linkcode MetricsRegistry}. */
export interface MetricsRegistryOptions {
  /** Receives a warning when samples are dropped for an unbounded label (once per minute). */
  warn?: (record: Record<string, unknown>) => void;
  /** Milliseconds between two warnings. */
  warnIntervalMs?: number;
}

/**
 * The buffer of one isolate.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * registry.inc("comptoir_orders_created_total");
 * registry.observe("comptoir_order_value_minor_units", { currency: "EUR" }, 1250);
 * const batch = registry.drain();
 * ```
 */
export class MetricsRegistry {
  readonly #families = new Map<string, FamilyState>();
  readonly #counters = new Map<string, Map<string, number>>();
  readonly #histograms = new Map<string, Map<string, Histogram>>();
  readonly #gauges = new Map<string, Map<string, number>>();
  readonly #latest = new Map<string, Map<string, number>>();
  /** Samples of a batch whose write failed, merged into the next one. */
  #carried = new Map<string, BatchSample>();
  #gaugesChanged = false;
  #dirtySeries = 0;
  #dropped = 0;
  #droppedSinceWarn = 0;
  #lastWarnAt = -Infinity;
  readonly #warn: (record: Record<string, unknown>) => void;
  readonly #warnIntervalMs: number;

  constructor(
    {
      warn = (record) => console.warn(JSON.stringify(record)),
      warnIntervalMs = 60_000,
    }: MetricsRegistryOptions = {},
  ) {
    this.#warn = warn;
    this.#warnIntervalMs = warnIntervalMs;
    for (const family of FAMILIES) {
      this.#families.set(family.name, {
        family,
        names: family.labels.map(([name]) => name),
        rules: family.labels.map(([, rule]) => rule),
        le: [...(family.buckets ?? []).map((b) => String(b)), "+Inf"],
      });
    }
  }

  /** Series changed since the last drain (what a flush would write, gauges aside). */
  get dirtySeries(): number {
    return this.#dirtySeries + this.#carried.size;
  }

  /** Samples dropped so far because a label value was outside its set (monotonic). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether any per-isolate gauge is non-zero (it must be refreshed while the isolate lives). */
  get holdsGauges(): boolean {
    for (const series of this.#gauges.values()) {
      for (const value of series.values()) if (value !== 0) return true;
    }
    return false;
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: CounterName, labels: LabelValues = {}, by = 1): void {
    if (!(by > 0)) return;
    const state = this.#state(name);
    const key = this.#keyOf(state, labels);
    if (key !== undefined) this.#add(name, key, by);
  }

  /** Records one observation of a histogram. */
  observe(name: HistogramName, labels: LabelValues, value: number): void {
    if (!Number.isFinite(value)) return;
    const state = this.#state(name);
    const key = this.#keyOf(state, labels);
    if (key !== undefined) this.#observe(state, key, value);
  }

  /** Sets a per-isolate gauge. */
  setGauge(name: IsolateGaugeName, labels: LabelValues, value: number): void {
    const key = this.#keyOf(this.#state(name), labels);
    if (key !== undefined) this.#setGauge(name, key, value);
  }

  /** Adds `delta` to a per-isolate gauge (in-flight requests). */
  addGauge(name: IsolateGaugeName, labels: LabelValues, delta: number): void {
    const key = this.#keyOf(this.#state(name), labels);
    if (key !== undefined) this.addGaugeAt(name, key, delta);
  }

  /** Adds `delta` to the per-isolate gauge series `key` (from {@linkcode seriesKey}). */
  addGaugeAt(name: IsolateGaugeName, key: string, delta: number): void {
    const series = this.#gauges.get(name);
    this.#setGauge(name, key, (series?.get(key) ?? 0) + delta);
  }

  /**
   * The bounded label key of a series of `name`, for callers that update the same series on every
   * request; `undefined` (and a dropped sample) when a value is outside the contract.
   */
  seriesKey(name: string, labels: LabelValues): string | undefined {
    return this.#keyOf(this.#state(name), labels);
  }

  /** Sets a gauge whose latest value written by any isolate wins. */
  setLatest(name: LatestGaugeName, labels: LabelValues, value: number): void {
    if (!Number.isFinite(value)) return;
    const key = this.#keyOf(this.#state(name), labels);
    if (key === undefined) return;
    let series = this.#latest.get(name);
    if (!series) this.#latest.set(name, series = new Map());
    if (!series.has(key)) this.#dirtySeries++;
    series.set(key, value);
  }

  /**
   * The label key of an HTTP request series, bounded; `undefined` when the function is not in the
   * contract. The middleware computes it once per request for the counter, the histogram and the
   * in-flight gauge.
   */
  httpKey(fn: string, route: string, method: string, statusClass: string): string | undefined {
    return this.#keyOfValues(this.#state("comptoir_http_requests_total"), [
      fn,
      route,
      method,
      statusClass,
    ]);
  }

  /** Counts one HTTP response and its duration under a key from {@linkcode httpKey}. */
  recordHttp(key: string, seconds: number): void {
    this.#add("comptoir_http_requests_total", key, 1);
    this.#observe(this.#state("comptoir_http_request_duration_seconds"), key, seconds);
  }

  /**
   * Takes everything changed since the last drain as one batch: counter and histogram increments
   * (then forgotten), latest gauges, and the per-isolate gauges when they changed or when
   * `gauges` is true (a heartbeat keeps this isolate among the fresh ones).
   */
  drain({ gauges = false }: { gauges?: boolean } = {}): BatchSample[] {
    const batch = this.#carried;
    this.#carried = new Map();
    const put = (sample: BatchSample) => {
      const id = `${sample.name}\u0000${sample.labels}\u0000${sample.le}`;
      const previous = batch.get(id);
      if (previous && sample.kind === "c") previous.value += sample.value;
      else batch.set(id, sample);
    };
    for (const [name, series] of this.#counters) {
      for (const [labels, value] of series) put({ name, labels, le: "", kind: "c", value });
    }
    for (const [name, series] of this.#histograms) {
      const le = this.#state(name).le;
      for (const [labels, h] of series) {
        let cumulative = 0;
        for (let i = 0; i < h.counts.length; i++) {
          cumulative += h.counts[i];
          put({ name: `${name}_bucket`, labels, le: le[i], kind: "c", value: cumulative });
        }
        put({ name: `${name}_sum`, labels, le: "", kind: "c", value: h.sum });
        put({ name: `${name}_count`, labels, le: "", kind: "c", value: h.count });
      }
    }
    for (const [name, series] of this.#latest) {
      for (const [labels, value] of series) put({ name, labels, le: "", kind: "l", value });
    }
    if (gauges || this.#gaugesChanged) {
      for (const [name, series] of this.#gauges) {
        for (const [labels, value] of series) put({ name, labels, le: "", kind: "g", value });
      }
    }
    this.#counters.clear();
    this.#histograms.clear();
    this.#latest.clear();
    this.#gaugesChanged = false;
    this.#dirtySeries = 0;
    return [...batch.values()];
  }

  /**
   * Gives back a batch whose write failed, so its increments reach the store with the next one.
   * Newer gauge values win over carried ones.
   */
  restore(batch: readonly BatchSample[]): void {
    for (const sample of batch) {
      const id = `${sample.name}\u0000${sample.labels}\u0000${sample.le}`;
      const previous = this.#carried.get(id);
      if (previous && sample.kind === "c") previous.value += sample.value;
      else if (!previous) this.#carried.set(id, { ...sample });
    }
  }

  #state(name: string): FamilyState {
    const state = this.#families.get(name);
    if (!state) throw new RangeError(`Unknown metric family ${name}`);
    return state;
  }

  #keyOf(state: FamilyState, labels: LabelValues): string | undefined {
    const values = state.names.map((name) => labels[name]);
    return this.#keyOfValues(state, values);
  }

  #keyOfValues(state: FamilyState, values: (string | undefined)[]): string | undefined {
    let key = "";
    for (let i = 0; i < state.names.length; i++) {
      const raw = values[i];
      const value = raw === undefined ? undefined : boundLabel(state.rules[i], raw);
      if (value === undefined) {
        this.#drop(state.family.name, state.names[i], raw);
        return undefined;
      }
      key += `${i === 0 ? "" : ","}${state.names[i]}="${escapeLabelValue(value)}"`;
    }
    return key;
  }

  #add(name: string, key: string, by: number): void {
    let series = this.#counters.get(name);
    if (!series) this.#counters.set(name, series = new Map());
    const previous = series.get(key);
    if (previous === undefined) this.#dirtySeries++;
    series.set(key, (previous ?? 0) + by);
  }

  #observe(state: FamilyState, key: string, value: number): void {
    const name = state.family.name;
    let series = this.#histograms.get(name);
    if (!series) this.#histograms.set(name, series = new Map());
    let h = series.get(key);
    if (!h) {
      series.set(key, h = { counts: new Array(state.le.length).fill(0), sum: 0, count: 0 });
      this.#dirtySeries++;
    }
    const buckets = state.family.buckets!;
    let i = 0;
    while (i < buckets.length && value > buckets[i]) i++;
    h.counts[i]++;
    h.sum += value;
    h.count++;
  }

  #setGauge(name: string, key: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let series = this.#gauges.get(name);
    if (!series) this.#gauges.set(name, series = new Map());
    if (series.get(key) !== value) {
      series.set(key, value);
      this.#gaugesChanged = true;
    }
  }

  #drop(familyName: string, label: string, value: string | undefined): void {
    this.#dropped++;
    this.#droppedSinceWarn++;
    const now = Date.now();
    if (now - this.#lastWarnAt < this.#warnIntervalMs) return;
    this.#lastWarnAt = now;
    this.#warn({
      level: "warn",
      msg: "metric sample dropped: label value outside the contract",
      family: familyName,
      label,
      value: value === undefined ? null : value.slice(0, 64),
      dropped_since_last_warning: this.#droppedSinceWarn,
      dropped_total: this.#dropped,
    });
    this.#droppedSinceWarn = 0;
  }
}
