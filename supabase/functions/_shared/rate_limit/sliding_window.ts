/**
 * Sliding window counter, the approximation @upstash/ratelimit uses: the previous fixed window's
 * count weighted by how much of it still overlaps the sliding window, plus the current count.
 * The memory backend runs this; the SQL function in the rate-limit migration does the same math.
 * @module
 */
import type { RateLimitResult } from "./types.ts";

/** Stored state of one identity. */
export interface SlidingWindowState {
  windowStart: number;
  current: number;
  previous: number;
}

/**
 * Counts a request of `cost` at `now`; returns the verdict and the state to store.
 *
 * @example
 * ```ts
 * const { result } = slidingWindow(undefined, 0, { limit: 10, windowMs: 1000 });
 * result.remaining; // 9
 * ```
 */
export function slidingWindow(
  state: SlidingWindowState | undefined,
  now: number,
  { limit, windowMs, cost = 1 }: { limit: number; windowMs: number; cost?: number },
): { result: RateLimitResult; state: SlidingWindowState } {
  const windowStart = Math.floor(now / windowMs) * windowMs;
  let current = 0;
  let previous = 0;
  if (state?.windowStart === windowStart) {
    current = state.current;
    previous = state.previous;
  } else if (state?.windowStart === windowStart - windowMs) {
    previous = state.current;
  }
  const weight = 1 - (now - windowStart) / windowMs;
  const used = Math.floor(previous * weight) + current;
  const resetAt = windowStart + windowMs;
  if (used + cost > limit) {
    return {
      result: { allowed: false, limit, remaining: Math.max(0, limit - used), resetAt },
      state: { windowStart, current, previous },
    };
  }
  return {
    result: { allowed: true, limit, remaining: limit - used - cost, resetAt },
    state: { windowStart, current: current + cost, previous },
  };
}
