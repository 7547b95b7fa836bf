/**
 * Applies a policy to an identity: scales the limit by the adaptive factor, asks the backend, and
 * when the store cannot answer applies the policy's fail mode — open (allow, log, count) or closed
 * (refuse). Every decision is published to subscribers for metrics.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import type { AdaptiveLimit } from "./adaptive.ts";
import { identityKey, UNKNOWN_IDENTITY_SHARE, unknownIdentityKey } from "./identity.ts";
import {
  type IdentityKind,
  type RateLimitBackend,
  type RateLimitPolicy,
  type RateLimitRule,
  RateLimitStoreError,
} from "./types.ts";

/** How a request fared. */
export type RateLimitOutcome = "allowed" | "limited" | "fail_open" | "fail_closed";

/** One decision, as published to subscribers. */
export interface RateLimitDecision {
  policy: string;
  identity: IdentityKind;
  backend: string;
  outcome: RateLimitOutcome;
  /** Whether the request may proceed. */
  allowed: boolean;
  /** The rule that was applied (limit after adaptive scaling). */
  rule: RateLimitRule;
  /** Adaptive factor in force. */
  factor: number;
  /** Left after this request; `null` when the store did not answer. */
  remaining: number | null;
  /** Epoch ms of the reset; `null` when the store did not answer. */
  resetAt: number | null;
  /** For refused requests: ms until a retry may succeed. */
  retryAfterMs?: number;
  /** Store failure, for `fail_open` / `fail_closed`. */
  error?: string;
  /** Epoch ms. */
  at: number;
}

/** Options of {@linkcode RateLimiter}. */
export interface RateLimiterOptions {
  backend: RateLimitBackend;
  /** Adaptive factor shared by adaptive policies. */
  adaptive?: AdaptiveLimit;
  clock?: Clock;
  /** Receives store-failure log records (at most one per `logIntervalMs`). */
  log?: (record: Record<string, unknown>) => void;
  /** Minimum time between two store-failure log lines, in ms. Default 10 s. */
  logIntervalMs?: number;
  /**
   * `Retry-After` for requests refused because the store is down, in ms, unless the store error
   * knows better (an open breaker's remaining time). Default 5 s.
   */
  failClosedRetryMs?: number;
}

/**
 * The rate limiter of one isolate.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter({ backend });
 * const decision = await limiter.check(RATE_LIMIT_POLICIES.public_read, "203.0.113.7");
 * if (!decision.allowed) console.log(decision.retryAfterMs);
 * ```
 */
export class RateLimiter {
  readonly #backend: RateLimitBackend;
  readonly #adaptive: AdaptiveLimit | undefined;
  readonly #clock: Clock;
  readonly #log: (record: Record<string, unknown>) => void;
  readonly #logIntervalMs: number;
  readonly #failClosedRetryMs: number;
  readonly #listeners = new Set<(decision: RateLimitDecision) => void>();
  readonly #counters: Record<RateLimitOutcome, number> = {
    allowed: 0,
    limited: 0,
    fail_open: 0,
    fail_closed: 0,
  };
  #lastLogAt = -Infinity;
  #suppressed = 0;

  constructor({
    backend,
    adaptive,
    clock = realClock,
    log = (record) => console.warn(JSON.stringify(record)),
    logIntervalMs = 10_000,
    failClosedRetryMs = 5_000,
  }: RateLimiterOptions) {
    this.#backend = backend;
    this.#adaptive = adaptive;
    this.#clock = clock;
    this.#log = log;
    this.#logIntervalMs = logIntervalMs;
    this.#failClosedRetryMs = failClosedRetryMs;
  }

  /** Decisions so far by outcome (monotonic). */
  get counters(): Readonly<Record<RateLimitOutcome, number>> {
    return { ...this.#counters };
  }

  /** Observes every decision; returns the unsubscribe function. */
  subscribe(listener: (decision: RateLimitDecision) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The rule `policy` enforces right now. */
  rule(policy: RateLimitPolicy): RateLimitRule {
    const scale = policy.adaptive === false || !this.#adaptive
      ? (n: number) => n
      : (n: number) => this.#adaptive!.scale(n);
    const limit = scale(policy.limit);
    const refill = policy.algorithm === "token_bucket"
      ? scale(policy.refill ?? policy.limit)
      : limit;
    return {
      name: policy.name,
      algorithm: policy.algorithm,
      limit,
      windowMs: policy.windowMs,
      refill,
    };
  }

  /**
   * Counts one request of `identity` (the value for `policy.identity`). `null` (unknown) is
   * counted in the kind's own small bucket: a share of the limit for all unknown requests at once.
   */
  async check(
    policy: RateLimitPolicy,
    identity: string | null | undefined,
  ): Promise<RateLimitDecision> {
    const known = typeof identity === "string" && identity.length > 0;
    const rule = known ? this.rule(policy) : unknownRule(this.rule(policy));
    const factor = policy.adaptive === false ? 1 : this.#adaptive?.factor ?? 1;
    const base = {
      policy: policy.name,
      identity: policy.identity,
      backend: this.#backend.kind,
      rule,
      factor,
    };
    let decision: RateLimitDecision;
    try {
      const key = known
        ? identityKey(policy.identity, identity)
        : unknownIdentityKey(policy.identity);
      const result = await this.#backend.consume(rule, key);
      const at = this.#clock.now();
      decision = {
        ...base,
        rule: { ...rule, limit: result.limit },
        outcome: result.allowed ? "allowed" : "limited",
        allowed: result.allowed,
        remaining: result.remaining,
        resetAt: result.resetAt,
        retryAfterMs: result.allowed ? undefined : Math.max(0, result.resetAt - at),
        at,
      };
    } catch (error) {
      if (!(error instanceof RateLimitStoreError)) throw error;
      const open = policy.failMode === "open";
      decision = {
        ...base,
        outcome: open ? "fail_open" : "fail_closed",
        allowed: open,
        remaining: null,
        resetAt: null,
        retryAfterMs: open ? undefined : error.retryAfterMs ?? this.#failClosedRetryMs,
        error: error.message,
        at: this.#clock.now(),
      };
      this.#logStoreFailure(decision);
    }
    this.#counters[decision.outcome]++;
    for (const listener of this.#listeners) {
      try {
        listener(decision);
      } catch {
        // A broken metrics listener must not break rate limiting.
      }
    }
    return decision;
  }

  #logStoreFailure(decision: RateLimitDecision): void {
    const now = decision.at;
    if (now - this.#lastLogAt < this.#logIntervalMs) {
      this.#suppressed++;
      return;
    }
    this.#lastLogAt = now;
    this.#log({
      level: "warn",
      msg: "rate limit store unavailable",
      backend: decision.backend,
      policy: decision.policy,
      outcome: decision.outcome,
      error: decision.error,
      suppressed_since_last: this.#suppressed,
      fail_open_total: this.#counters.fail_open + (decision.outcome === "fail_open" ? 1 : 0),
      fail_closed_total: this.#counters.fail_closed + (decision.outcome === "fail_closed" ? 1 : 0),
    });
    this.#suppressed = 0;
  }
}

/** The rule of requests whose identity is unknown: the same rule with a small share of the limit. */
function unknownRule(rule: RateLimitRule): RateLimitRule {
  const share = (n: number) => Math.max(1, Math.floor(n * UNKNOWN_IDENTITY_SHARE));
  return { ...rule, limit: share(rule.limit), refill: share(rule.refill) };
}
