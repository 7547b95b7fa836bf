/**
 * Fixed window counter: at most `limit` requests per aligned window (`floor(now / window)`), the
 * cheapest algorithm, with up to twice the limit possible across a window boundary.
 * @module
 */
import type { RateLimitResult } from "./types.ts";

/** Stored state of one identity. */
export interface FixedWindowState {
  windowStart: number;
  count: number;
}

/**
 * Counts a request of `cost` at `now`; refused requests are not counted.
 *
 * @example
 * ```ts
 * const { result } = fixedWindow(undefined, 0, { limit: 10, windowMs: 1000 });
 * result.resetAt; // 1000
 * ```
 */
export function fixedWindow(
  state: FixedWindowState | undefined,
  now: number,
  { limit, windowMs, cost = 1 }: { limit: number; windowMs: number; cost?: number },
): { result: RateLimitResult; state: FixedWindowState } {
  const windowStart = Math.floor(now / windowMs) * windowMs;
  const count = state?.windowStart === windowStart ? state.count : 0;
  const resetAt = windowStart + windowMs;
  if (count + cost > limit) {
    return {
      result: { allowed: false, limit, remaining: Math.max(0, limit - count), resetAt },
      state: { windowStart, count },
    };
  }
  return {
    result: { allowed: true, limit, remaining: limit - count - cost, resetAt },
    state: { windowStart, count: count + cost },
  };
}
