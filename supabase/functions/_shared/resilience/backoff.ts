/**
 * Exponential backoff delays with jitter, so that many clients failing together do not retry
 * together ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
 * @module
 */

/**
 * `full`: uniform in [0, min(cap, base·2^(n-1))] — spreads retries the most.
 * `decorrelated`: uniform in [base, 3·previous], capped — grows like exponential on average but
 * each client drifts on its own path.
 * `none`: plain exponential, for tests and for callers that add their own spreading.
 */
export type Jitter = "full" | "decorrelated" | "none";

/** Options of {@linkcode backoffDelay}. */
export interface BackoffOptions {
  /** First (un-jittered) delay in ms. */
  baseDelayMs?: number;
  /** Largest delay in ms. */
  maxDelayMs?: number;
  /** Jitter strategy. */
  jitter?: Jitter;
  /** Source of randomness in [0, 1). */
  random?: () => number;
}

/** Default first delay (ms). */
export const DEFAULT_BASE_DELAY_MS = 100;
/** Default delay cap (ms). */
export const DEFAULT_MAX_DELAY_MS = 5_000;

/**
 * Delay before retry number `retry` (1 for the first retry). `previousMs` is the delay used before
 * the previous retry (decorrelated jitter grows from it; pass 0 for the first).
 *
 * @example
 * ```ts
 * backoffDelay(3, 0, { baseDelayMs: 100, jitter: "none" }); // 400
 * ```
 */
export function backoffDelay(
  retry: number,
  previousMs: number,
  {
    baseDelayMs = DEFAULT_BASE_DELAY_MS,
    maxDelayMs = DEFAULT_MAX_DELAY_MS,
    jitter = "full",
    random = Math.random,
  }: BackoffOptions = {},
): number {
  if (!Number.isInteger(retry) || retry < 1) {
    throw new RangeError(`Retry number must be a positive integer, got ${retry}`);
  }
  if (baseDelayMs < 0 || maxDelayMs < baseDelayMs) {
    throw new RangeError(`Invalid backoff bounds: base ${baseDelayMs} ms, max ${maxDelayMs} ms`);
  }
  // 2^(retry-1) overflows to Infinity for huge retry counts; min() keeps it at the cap.
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (retry - 1));
  switch (jitter) {
    case "none":
      return exponential;
    case "full":
      return Math.floor(random() * exponential);
    case "decorrelated": {
      const previous = Math.max(baseDelayMs, previousMs);
      const upper = Math.min(maxDelayMs, previous * 3);
      return Math.floor(baseDelayMs + random() * Math.max(0, upper - baseDelayMs));
    }
  }
}
