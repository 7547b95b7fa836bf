/**
 * Feeds {@linkcode AdaptiveLimit} with what requests really experience: a middleware records the
 * status and duration of each request a route serves into a rolling window (one slot per second,
 * a latency histogram per slot, so memory and CPU stay flat at any request rate), and at most once
 * per `evaluateEveryMs` the window's 5xx share and p95 latency, with the number of open circuit
 * breakers, are handed to the adaptive factor. Too few requests in the window say nothing about
 * error rate or latency (one failed request out of three is not an overload), so those two signals
 * are only given from `minimumRequests` on; an open breaker counts at any volume.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { type Clock, realClock } from "../clock.ts";
import type { AdaptiveLimit, LoadSignals } from "./adaptive.ts";

/** Options of {@linkcode LoadMonitor}. */
export interface LoadMonitorOptions {
  /** The factor to feed. */
  adaptive: AdaptiveLimit;
  /** Length of the rolling window, in ms. Default 30 s. */
  windowMs?: number;
  /** Least time between two evaluations, in ms. Default 1 s. */
  evaluateEveryMs?: number;
  /** Requests the window needs before error rate and latency count. Default 20. */
  minimumRequests?: number;
  /** Breakers of dependencies currently open or half-open. */
  openBreakers?: () => number;
  clock?: Clock;
}

/** Upper bounds of the latency histogram's buckets, in ms; a last bucket takes the rest. */
const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000];
const SLOT_MS = 1000;

interface Slot {
  start: number;
  requests: number;
  errors: number;
  latency: Uint32Array;
}

/**
 * Rolling request statistics of one isolate, and the bridge to its adaptive factor.
 *
 * @example
 * ```ts
 * const monitor = new LoadMonitor({ adaptive: new AdaptiveLimit() });
 * app.get("/products", monitor.middleware(), listProducts);
 * ```
 */
export class LoadMonitor {
  readonly #adaptive: AdaptiveLimit;
  readonly #slots: Slot[];
  readonly #evaluateEveryMs: number;
  readonly #minimumRequests: number;
  readonly #openBreakers: () => number;
  readonly #clock: Clock;
  #lastEvaluation = -Infinity;

  constructor({
    adaptive,
    windowMs = 30_000,
    evaluateEveryMs = 1000,
    minimumRequests = 20,
    openBreakers = () => 0,
    clock = realClock,
  }: LoadMonitorOptions) {
    if (!(windowMs >= SLOT_MS)) throw new RangeError(`windowMs must be >= ${SLOT_MS}`);
    this.#adaptive = adaptive;
    this.#slots = Array.from({ length: Math.ceil(windowMs / SLOT_MS) }, () => ({
      start: -Infinity,
      requests: 0,
      errors: 0,
      latency: new Uint32Array(LATENCY_BOUNDS_MS.length + 1),
    }));
    this.#evaluateEveryMs = evaluateEveryMs;
    this.#minimumRequests = minimumRequests;
    this.#openBreakers = openBreakers;
    this.#clock = clock;
  }

  /** Counts one served request, then evaluates if one is due. */
  record(status: number, durationMs: number): void {
    const now = this.#clock.now();
    const start = Math.floor(now / SLOT_MS) * SLOT_MS;
    const slot = this.#slots[Math.floor(now / SLOT_MS) % this.#slots.length];
    if (slot.start !== start) {
      slot.start = start;
      slot.requests = 0;
      slot.errors = 0;
      slot.latency.fill(0);
    }
    slot.requests++;
    if (status >= 500) slot.errors++;
    slot.latency[bucketOf(durationMs)]++;
    this.evaluate();
  }

  /** The signals of the current window. */
  signals(): LoadSignals {
    const now = this.#clock.now();
    const oldest = Math.floor(now / SLOT_MS) * SLOT_MS - (this.#slots.length - 1) * SLOT_MS;
    let requests = 0;
    let errors = 0;
    const latency = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    for (const slot of this.#slots) {
      if (slot.start < oldest) continue;
      requests += slot.requests;
      errors += slot.errors;
      slot.latency.forEach((n, i) => latency[i] += n);
    }
    const signals: LoadSignals = { openBreakers: this.#openBreakers() };
    if (requests >= this.#minimumRequests) {
      signals.errorRate = Math.round((errors / requests) * 1000) / 1000;
      signals.p95LatencyMs = percentile(latency, requests, 0.95);
    }
    return signals;
  }

  /** Feeds the current signals to the adaptive factor unless it was fed less than a period ago. */
  evaluate(force = false): number {
    const now = this.#clock.now();
    if (force || now - this.#lastEvaluation >= this.#evaluateEveryMs) {
      this.#lastEvaluation = now;
      return this.#adaptive.observe(this.signals());
    }
    return this.#adaptive.factor;
  }

  /** Middleware recording the status and duration of what runs after it. */
  middleware(): MiddlewareHandler {
    const clock = this.#clock;
    const record = (status: number, ms: number) => this.record(status, ms);
    return async function observeLoad(c, next) {
      const started = clock.now();
      let status = 500;
      try {
        await next();
        status = c.res.status;
      } finally {
        record(status, clock.now() - started);
      }
    };
  }
}

function bucketOf(durationMs: number): number {
  const index = LATENCY_BOUNDS_MS.findIndex((bound) => durationMs <= bound);
  return index === -1 ? LATENCY_BOUNDS_MS.length : index;
}

/** The `q` quantile of a histogram, interpolated linearly inside its bucket. */
function percentile(histogram: number[], total: number, q: number): number {
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    if (seen + histogram[i] >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1];
      const upper = LATENCY_BOUNDS_MS[i] ?? lower * 2;
      return Math.round(lower + (upper - lower) * ((rank - seen) / histogram[i]));
    }
    seen += histogram[i];
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] * 2;
}
