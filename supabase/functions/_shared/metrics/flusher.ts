/**
 * Moves the isolate's buffered metrics to the shared store without ever making a response wait:
 * a flush runs when the oldest unflushed change is `intervalMs` old (timer) or as soon as
 * `maxSeries` series are waiting (size), is handed to `EdgeRuntime.waitUntil` where the platform
 * has it (else left to run as a non-awaited promise), and never throws. A failed batch is given
 * back to the registry and goes out with the next one; failures are counted and logged at most
 * once per `logIntervalMs`.
 * @module
 */
import { edgeWaitUntil } from "../edge_runtime.ts";
import type { MetricsRegistry } from "./registry.ts";
import type { MetricsStore } from "./store.ts";

/** Options of {@linkcode MetricsFlusher}. */
export interface MetricsFlusherOptions {
  /** The buffer to drain. */
  registry: MetricsRegistry;
  /** The store, resolved at each flush (so configuration read late is seen). */
  store: () => MetricsStore;
  /** Identifies this isolate's per-isolate gauges in the store. */
  isolate?: string;
  /** Longest time a change waits in memory, in ms. Default 5000. */
  intervalMs?: number;
  /** Flush at once when this many series are waiting. Default 500. */
  maxSeries?: number;
  /** While a per-isolate gauge is non-zero, rewrite it at least this often, in ms. Default 20000. */
  heartbeatMs?: number;
  /** Least time between two failure log lines, in ms. Default 60000. */
  logIntervalMs?: number;
  /** Receives the failure log records. */
  log?: (record: Record<string, unknown>) => void;
  /** Keeps the platform alive until a background flush settles (EdgeRuntime.waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** Result of one flush. */
export interface FlushResult {
  /** Samples written (0 when nothing was waiting or the write failed). */
  written: number;
  /** The write error, if any. */
  error?: unknown;
}

/**
 * The flusher of one isolate.
 *
 * @example
 * ```ts
 * const flusher = new MetricsFlusher({ registry, store: () => store });
 * registry.inc("comptoir_orders_created_total");
 * flusher.notify(); // a flush is now scheduled
 * await flusher.flush(); // or force one (the metrics function does before rendering)
 * ```
 */
export class MetricsFlusher {
  readonly isolate: string;
  readonly #registry: MetricsRegistry;
  readonly #store: () => MetricsStore;
  readonly #intervalMs: number;
  readonly #maxSeries: number;
  readonly #heartbeatMs: number;
  readonly #logIntervalMs: number;
  readonly #log: (record: Record<string, unknown>) => void;
  readonly #waitUntil: ((promise: Promise<unknown>) => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires (epoch ms). */
  #timerDue = Infinity;
  #running: Promise<FlushResult> | undefined;
  #again = false;
  #lastGaugeWriteAt = -Infinity;
  #failures = 0;
  #failuresSinceLog = 0;
  #lastLogAt = -Infinity;
  #closed = false;

  constructor({
    registry,
    store,
    isolate = crypto.randomUUID(),
    intervalMs = 5_000,
    maxSeries = 500,
    heartbeatMs = 20_000,
    logIntervalMs = 60_000,
    log = (record) => console.warn(JSON.stringify(record)),
    waitUntil = edgeWaitUntil(),
  }: MetricsFlusherOptions) {
    this.isolate = isolate;
    this.#registry = registry;
    this.#store = store;
    this.#intervalMs = intervalMs;
    this.#maxSeries = maxSeries;
    this.#heartbeatMs = heartbeatMs;
    this.#logIntervalMs = logIntervalMs;
    this.#log = log;
    this.#waitUntil = waitUntil;
  }

  /** Failed flushes so far (monotonic). */
  get failures(): number {
    return this.#failures;
  }

  /** Tells the flusher something was recorded: arms the timer, or flushes now when full. */
  notify(): void {
    if (this.#closed) return;
    if (this.#registry.dirtySeries >= this.#maxSeries) {
      this.#background();
    } else if (this.#timer === undefined || this.#timerDue > Date.now() + this.#intervalMs) {
      // No timer, or only the slower gauge heartbeat: a recorded change waits intervalMs at most.
      this.#arm(this.#intervalMs);
    }
  }

  /** Flushes now; concurrent calls share one write and a call during a write queues one more. */
  flush(): Promise<FlushResult> {
    if (this.#running) {
      this.#again = true;
      return this.#running.then(() => this.#running ?? this.flush());
    }
    const run = this.#write().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.#background();
      } else {
        this.#rearm();
      }
    });
    this.#running = run;
    return run;
  }

  /** Stops the timer (tests, shutdown); pending data stays in the registry. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #write(): Promise<FlushResult> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const heartbeat = this.#registry.holdsGauges &&
      Date.now() - this.#lastGaugeWriteAt >= this.#heartbeatMs;
    const batch = this.#registry.drain({ gauges: heartbeat });
    if (batch.length === 0) return { written: 0 };
    try {
      await this.#store().write(this.isolate, batch);
      if (batch.some((s) => s.kind === "g")) this.#lastGaugeWriteAt = Date.now();
      return { written: batch.length };
    } catch (error) {
      this.#registry.restore(batch);
      this.#failed(error, batch.length);
      return { written: 0, error };
    }
  }

  #background(): void {
    const promise = this.flush();
    if (this.#waitUntil) {
      try {
        this.#waitUntil(promise);
      } catch {
        // Outside a request some runtimes refuse waitUntil; the promise runs anyway.
      }
    }
  }

  #rearm(): void {
    if (this.#closed || this.#timer !== undefined) return;
    if (this.#registry.dirtySeries > 0) this.#arm(this.#intervalMs);
    else if (this.#registry.holdsGauges) this.#arm(this.#heartbeatMs);
  }

  #arm(ms: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const timer = setTimeout(() => {
      this.#timer = undefined;
      this.#background();
    }, ms);
    this.#timerDue = Date.now() + ms;
    // A pending flush must not keep a process (or a test) alive on its own.
    if (typeof Deno !== "undefined" && typeof Deno.unrefTimer === "function") {
      Deno.unrefTimer(timer as unknown as number);
    }
    this.#timer = timer;
  }

  #failed(error: unknown, samples: number): void {
    this.#failures++;
    this.#failuresSinceLog++;
    const now = Date.now();
    if (now - this.#lastLogAt < this.#logIntervalMs) return;
    this.#lastLogAt = now;
    this.#log({
      level: "warn",
      msg: "metrics flush failed; samples kept for the next flush",
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      samples,
      failures_since_last_log: this.#failuresSinceLog,
      failures_total: this.#failures,
    });
    this.#failuresSinceLog = 0;
  }
}
