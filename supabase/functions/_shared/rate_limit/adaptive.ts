/**
 * Adaptive limits: a factor in [minFactor, 1] that multiplies every adaptive policy's limit. Load
 * signals (error rate, p95 latency, database saturation, open breakers) fed in by the caller push
 * it down multiplicatively when one crosses its threshold, at most once per cooldown, and it climbs
 * back additively once all are healthy (AIMD, as TCP congestion control: quick to shed load, slow to
 * invite it back). Every change is logged as one JSON line and kept in a short history.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";

/** Load signals; any subset may be given. */
export interface LoadSignals {
  /** Share of failed requests or dependency calls, 0..1. */
  errorRate?: number;
  /** 95th percentile latency in ms. */
  p95LatencyMs?: number;
  /** Database saturation, 0..1 (e.g. active connections / max connections). */
  dbSaturation?: number;
  /** Circuit breakers of dependencies that are open or half-open (e.g. the database's). */
  openBreakers?: number;
}

/** Thresholds above which a signal counts as overload. */
export interface AdaptiveThresholds {
  errorRate: number;
  p95LatencyMs: number;
  dbSaturation: number;
  openBreakers: number;
}

/** One change of the factor. */
export interface AdaptiveChange {
  /** Epoch ms. */
  at: number;
  from: number;
  to: number;
  /** e.g. `errorRate 0.2 > 0.05` or `recovery`. */
  reason: string;
  signals: LoadSignals;
}

/** Options of {@linkcode AdaptiveLimit}. */
export interface AdaptiveLimitOptions {
  /** Name in log lines. */
  name?: string;
  thresholds?: Partial<AdaptiveThresholds>;
  /** Lowest factor. Default 0.1. */
  minFactor?: number;
  /** Multiplier applied on overload. Default 0.5. */
  decrease?: number;
  /** Added per recovery step. Default 0.1. */
  recoveryStep?: number;
  /** Least time between two decreases, in ms. Default 10 s. */
  cooldownMs?: number;
  /** Healthy time needed before each recovery step, in ms. Default 30 s. */
  recoveryIntervalMs?: number;
  clock?: Clock;
  /** Receives one record per change; a JSON line on stdout by default. */
  log?: (record: Record<string, unknown>) => void;
}

/** Default overload thresholds. */
export const DEFAULT_ADAPTIVE_THRESHOLDS: AdaptiveThresholds = {
  errorRate: 0.05,
  p95LatencyMs: 1500,
  dbSaturation: 0.85,
  openBreakers: 0,
};

const HISTORY = 50;

/**
 * The adaptive factor of one isolate.
 *
 * @example
 * ```ts
 * const adaptive = new AdaptiveLimit();
 * adaptive.observe({ errorRate: 0.3 }); // 0.5
 * adaptive.scale(100); // 50
 * ```
 */
export class AdaptiveLimit {
  readonly #name: string;
  readonly #thresholds: AdaptiveThresholds;
  readonly #minFactor: number;
  readonly #decrease: number;
  readonly #step: number;
  readonly #cooldownMs: number;
  readonly #recoveryMs: number;
  readonly #clock: Clock;
  readonly #log: (record: Record<string, unknown>) => void;
  #factor = 1;
  #lastDecreaseAt = -Infinity;
  #healthySince: number | null = null;
  #lastRecoveryAt = -Infinity;
  readonly #changes: AdaptiveChange[] = [];

  constructor({
    name = "default",
    thresholds = {},
    minFactor = 0.1,
    decrease = 0.5,
    recoveryStep = 0.1,
    cooldownMs = 10_000,
    recoveryIntervalMs = 30_000,
    clock = realClock,
    log = (record) => console.info(JSON.stringify(record)),
  }: AdaptiveLimitOptions = {}) {
    if (!(minFactor >= 0.1 && minFactor <= 1)) {
      throw new RangeError(`minFactor must be in [0.1, 1], got ${minFactor}`);
    }
    if (!(decrease > 0 && decrease < 1)) {
      throw new RangeError(`decrease must be in (0, 1), got ${decrease}`);
    }
    if (!(recoveryStep > 0)) throw new RangeError(`recoveryStep must be > 0, got ${recoveryStep}`);
    this.#name = name;
    this.#thresholds = { ...DEFAULT_ADAPTIVE_THRESHOLDS, ...thresholds };
    this.#minFactor = minFactor;
    this.#decrease = decrease;
    this.#step = recoveryStep;
    this.#cooldownMs = cooldownMs;
    this.#recoveryMs = recoveryIntervalMs;
    this.#clock = clock;
    this.#log = log;
  }

  /** Current factor in [minFactor, 1]. */
  get factor(): number {
    return this.#factor;
  }

  /** Recent changes, oldest first. */
  get changes(): readonly AdaptiveChange[] {
    return [...this.#changes];
  }

  /** `limit` scaled by the factor, never below 1. */
  scale(limit: number): number {
    return Math.max(1, Math.floor(limit * this.#factor));
  }

  /** Feeds fresh signals; returns the factor now in force. */
  observe(signals: LoadSignals): number {
    const now = this.#clock.now();
    const breaches = this.#breaches(signals);
    if (breaches.length > 0) {
      this.#healthySince = null;
      if (now - this.#lastDecreaseAt >= this.#cooldownMs && this.#factor > this.#minFactor) {
        this.#lastDecreaseAt = now;
        this.#change(round(Math.max(this.#minFactor, this.#factor * this.#decrease)), {
          at: now,
          reason: breaches.join(", "),
          signals,
        });
      }
      return this.#factor;
    }
    this.#healthySince ??= now;
    const since = Math.max(this.#healthySince, this.#lastRecoveryAt, this.#lastDecreaseAt);
    if (this.#factor < 1 && now - since >= this.#recoveryMs) {
      this.#lastRecoveryAt = now;
      this.#change(round(Math.min(1, this.#factor + this.#step)), {
        at: now,
        reason: "recovery",
        signals,
      });
    }
    return this.#factor;
  }

  #breaches(signals: LoadSignals): string[] {
    const out: string[] = [];
    for (const key of ["errorRate", "p95LatencyMs", "dbSaturation", "openBreakers"] as const) {
      const value = signals[key];
      if (value !== undefined && value > this.#thresholds[key]) {
        out.push(`${key} ${value} > ${this.#thresholds[key]}`);
      }
    }
    return out;
  }

  #change(to: number, change: Omit<AdaptiveChange, "from" | "to">): void {
    const record: AdaptiveChange = { ...change, from: this.#factor, to };
    this.#factor = to;
    this.#changes.push(record);
    if (this.#changes.length > HISTORY) this.#changes.shift();
    this.#log({
      level: to < record.from ? "warn" : "info",
      msg: "rate limit factor changed",
      limiter: this.#name,
      from: record.from,
      to,
      reason: record.reason,
      signals: record.signals,
      at: new Date(record.at).toISOString(),
    });
  }
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
