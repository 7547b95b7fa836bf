/**
 * Token bucket with discrete refills, as in @upstash/ratelimit: a bucket of `capacity` tokens
 * (the burst) that gains `refill` tokens every `intervalMs`, counted from the last refill.
 * @module
 */
import type { RateLimitResult } from "./types.ts";

/** Stored state of one identity. */
export interface TokenBucketState {
  tokens: number;
  refilledAt: number;
}

/**
 * Takes `cost` tokens at `now` if there are enough; returns the verdict and the state to store.
 *
 * @example
 * ```ts
 * const { result } = tokenBucket(undefined, 0, { capacity: 5, refill: 1, intervalMs: 1000 });
 * result.remaining; // 4
 * ```
 */
export function tokenBucket(
  state: TokenBucketState | undefined,
  now: number,
  { capacity, refill, intervalMs, cost = 1 }: {
    capacity: number;
    refill: number;
    intervalMs: number;
    cost?: number;
  },
): { result: RateLimitResult; state: TokenBucketState } {
  let tokens = state?.tokens ?? capacity;
  let refilledAt = state?.refilledAt ?? now;
  if (now >= refilledAt + intervalMs) {
    const refills = Math.floor((now - refilledAt) / intervalMs);
    tokens = Math.min(capacity, tokens + refills * refill);
    refilledAt += refills * intervalMs;
  }
  const resetAt = refilledAt + intervalMs;
  if (tokens < cost) {
    return {
      result: { allowed: false, limit: capacity, remaining: Math.max(0, tokens), resetAt },
      state: { tokens, refilledAt },
    };
  }
  return {
    result: { allowed: true, limit: capacity, remaining: tokens - cost, resetAt },
    state: { tokens: tokens - cost, refilledAt },
  };
}
