/**
 * In-memory backend, for unit tests only: one process, no sharing between isolates, so it must
 * never back a deployed function (ARCHITECTURE.md: rate-limit state is shared state).
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import { fixedWindow, type FixedWindowState } from "./fixed_window.ts";
import { slidingWindow, type SlidingWindowState } from "./sliding_window.ts";
import { tokenBucket, type TokenBucketState } from "./token_bucket.ts";
import type { RateLimitBackend, RateLimitResult, RateLimitRule } from "./types.ts";

type State = SlidingWindowState | FixedWindowState | TokenBucketState;

/**
 * A {@linkcode RateLimitBackend} over a `Map`, driven by `clock`.
 *
 * @example
 * ```ts
 * const backend = new MemoryRateLimitBackend({ clock: new FakeClock() });
 * ```
 */
export class MemoryRateLimitBackend implements RateLimitBackend {
  readonly kind = "memory";
  readonly #clock: Clock;
  readonly #states = new Map<string, { algorithm: string; state: State }>();

  constructor({ clock = realClock }: { clock?: Clock } = {}) {
    this.#clock = clock;
  }

  consume(rule: RateLimitRule, identity: string): Promise<RateLimitResult> {
    const key = `${rule.name}:${identity}`;
    const now = this.#clock.now();
    const stored = this.#states.get(key);
    const previous = stored?.algorithm === rule.algorithm ? stored.state : undefined;
    let outcome: { result: RateLimitResult; state: State };
    switch (rule.algorithm) {
      case "sliding_window":
        outcome = slidingWindow(previous as SlidingWindowState | undefined, now, rule);
        break;
      case "fixed_window":
        outcome = fixedWindow(previous as FixedWindowState | undefined, now, rule);
        break;
      case "token_bucket":
        outcome = tokenBucket(previous as TokenBucketState | undefined, now, {
          capacity: rule.limit,
          refill: rule.refill,
          intervalMs: rule.windowMs,
        });
        break;
    }
    this.#states.set(key, { algorithm: rule.algorithm, state: outcome.state });
    return Promise.resolve(outcome.result);
  }
}
