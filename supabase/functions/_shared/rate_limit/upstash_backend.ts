/**
 * Upstash backend (production): @upstash/ratelimit over @upstash/redis, one limiter per policy and
 * effective limit (adaptive scaling changes the limit, the counters stay under the same keys).
 *
 * @upstash/ratelimit answers `success: true, reason: "timeout"` when Redis is slower than its
 * timeout — it fails open on its own. That answer is turned into {@linkcode RateLimitStoreError}
 * here so that the policy's fail mode, not the library, decides (and the event is counted).
 *
 * A check that fails with a transient error (the REST endpoint unreachable or answering 5xx) is
 * retried once, within 300 ms and the request's deadline (resilience/dependency_retry.ts). A
 * failed command did not count the request, so the retry counts it once; a lost answer to a
 * command that ran would count it twice, which only errs towards limiting.
 * @module
 */
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis";
import { retryDependency } from "../resilience/dependency_retry.ts";
import {
  type RateLimitBackend,
  type RateLimitResult,
  type RateLimitRule,
  RateLimitStoreError,
} from "./types.ts";

/** Options of {@linkcode UpstashRateLimitBackend}. */
export interface UpstashRateLimitBackendOptions {
  /**
   * The Redis client. Give it `retry: false`: its default five network retries (about 4 s) would
   * outlast the rate limiter's own timeout, and this backend retries on its own.
   */
  redis: Redis;
  /** Key prefix. */
  prefix?: string;
  /** @upstash/ratelimit timeout in ms (library default 5000 is too long for an API request). */
  timeoutMs?: number;
  /**
   * Keep blocked identities in module memory until their reset so repeated refused requests cost
   * no Redis call (the library's ephemeral cache). Default `true`. It is only used for the fixed
   * window and the token bucket, where "blocked until reset" is exact; a sliding window frees
   * capacity gradually before its reset, and the cache would refuse requests the algorithm allows.
   */
  ephemeralCache?: boolean;
}

type Duration = `${number} ms`;

/**
 * A {@linkcode RateLimitBackend} on Upstash Redis.
 *
 * @example
 * ```ts
 * const backend = new UpstashRateLimitBackend({
 *   redis: new Redis({ url, token, retry: false }),
 * });
 * ```
 */
export class UpstashRateLimitBackend implements RateLimitBackend {
  readonly kind = "upstash";
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #ephemeralCache: boolean;
  readonly #limiters = new Map<string, Ratelimit>();

  constructor(
    { redis, prefix = "comptoir:rl", timeoutMs = 1000, ephemeralCache = true }:
      UpstashRateLimitBackendOptions,
  ) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#timeoutMs = timeoutMs;
    this.#ephemeralCache = ephemeralCache;
  }

  async consume(rule: RateLimitRule, identity: string): Promise<RateLimitResult> {
    let response: Awaited<ReturnType<Ratelimit["limit"]>>;
    try {
      const limiter = this.#limiter(rule);
      response = await retryDependency("redis", () => limiter.limit(identity), {
        attempts: 2,
        baseDelayMs: 20,
        maxDelayMs: 100,
        budgetMs: 300,
      });
    } catch (error) {
      throw new RateLimitStoreError(this.kind, "unavailable", { cause: error });
    }
    if (response.reason === "timeout") throw new RateLimitStoreError(this.kind, "timeout");
    return {
      allowed: response.success,
      limit: response.limit,
      remaining: response.remaining,
      resetAt: response.reset,
    };
  }

  #limiter(rule: RateLimitRule): Ratelimit {
    const id = `${rule.name}|${rule.algorithm}|${rule.limit}|${rule.windowMs}|${rule.refill}`;
    let limiter = this.#limiters.get(id);
    if (!limiter) {
      const window: Duration = `${rule.windowMs} ms`;
      limiter = new Ratelimit({
        redis: this.#redis,
        prefix: `${this.#prefix}:${rule.name}`,
        timeout: this.#timeoutMs,
        analytics: false,
        ephemeralCache: this.#ephemeralCache && rule.algorithm !== "sliding_window"
          ? new Map()
          : false,
        limiter: rule.algorithm === "sliding_window"
          ? Ratelimit.slidingWindow(rule.limit, window)
          : rule.algorithm === "fixed_window"
          ? Ratelimit.fixedWindow(rule.limit, window)
          : Ratelimit.tokenBucket(rule.refill, window, rule.limit),
      });
      this.#limiters.set(id, limiter);
    }
    return limiter;
  }
}
