/**
 * Vocabulary of the rate limiter: policies, the rule a backend enforces, its verdict, and the
 * error a backend throws when its store cannot answer.
 * @module
 */

/** Counting algorithm. */
export type RateLimitAlgorithm = "sliding_window" | "token_bucket" | "fixed_window";

/** Who a limit applies to. */
export type IdentityKind = "user" | "api_key" | "ip";

/** What happens when the store is down: let requests through, or refuse them. */
export type FailMode = "open" | "closed";

/** One row of the policy table (see policies.ts). */
export interface RateLimitPolicy {
  /** Stable name; part of storage keys and of the `RateLimit-Policy` header. */
  readonly name: string;
  readonly algorithm: RateLimitAlgorithm;
  /** Requests per window, or the bucket capacity (burst) for `token_bucket`. */
  readonly limit: number;
  /** Window length, or the refill interval for `token_bucket`, in ms. */
  readonly windowMs: number;
  /** `token_bucket` only: tokens added every `windowMs` (default: `limit`). */
  readonly refill?: number;
  readonly identity: IdentityKind;
  readonly failMode: FailMode;
  /** Whether the adaptive factor scales this limit (default `true`). */
  readonly adaptive?: boolean;
}

/** What a backend enforces: a policy's shape with the limit in force right now. */
export interface RateLimitRule {
  readonly name: string;
  readonly algorithm: RateLimitAlgorithm;
  readonly limit: number;
  readonly windowMs: number;
  /** Tokens per `windowMs` (token bucket); equals `limit` for the window algorithms. */
  readonly refill: number;
}

/** A backend's verdict for one request. */
export interface RateLimitResult {
  allowed: boolean;
  /** The limit that was applied. */
  limit: number;
  /** Requests (tokens) left after this one. */
  remaining: number;
  /** Epoch ms when the window resets or the next token arrives. */
  resetAt: number;
}

/** Where counters live. */
export interface RateLimitBackend {
  /** `upstash`, `postgres` or `memory`, for logs and metrics. */
  readonly kind: string;
  /**
   * Counts one request of `identity` against `rule`, atomically across isolates; throws
   * {@linkcode RateLimitStoreError} when the store cannot answer.
   */
  consume(rule: RateLimitRule, identity: string): Promise<RateLimitResult>;
}

/**
 * The store could not answer (down, or slower than the backend's timeout); the policy's
 * `failMode` decides what the request gets.
 *
 * @example
 * ```ts
 * throw new RateLimitStoreError("upstash", "timeout");
 * ```
 */
export class RateLimitStoreError extends Error {
  /** Backend kind. */
  readonly backend: string;
  /** `unavailable` (error) or `timeout`. */
  readonly reason: "unavailable" | "timeout";
  /** When the store is known to be back at the earliest (e.g. its breaker's open time), in ms. */
  readonly retryAfterMs?: number;

  constructor(
    backend: string,
    reason: "unavailable" | "timeout",
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    const detail = options.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Rate limit store ${backend} ${reason}${detail}`, { cause: options.cause });
    this.name = "RateLimitStoreError";
    this.backend = backend;
    this.reason = reason;
    this.retryAfterMs = options.retryAfterMs;
  }
}
