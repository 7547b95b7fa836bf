/**
 * How long to wait before the next attempt after a failure: the jittered exponential backoff of
 * backoff.ts, raised to the `Retry-After` the failure carries (429 and 503 answers). Shared by the
 * in-process retry loop (retry.ts) and by work that retries across runs, such as the notifications
 * outbox, which stores the time of the next attempt instead of sleeping.
 * @module
 */
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import { retryAfterMs } from "./retry_after.ts";

/** Options of {@linkcode delayBeforeRetry}. */
export interface RetryDelayOptions extends BackoffOptions {
  /** Wait at least as long as a `Retry-After` the failure carries. Default `true`. */
  respectRetryAfter?: boolean;
  /** Current time in ms since the epoch, for HTTP-date `Retry-After` values. */
  now?: number;
}

/** Result of {@linkcode delayBeforeRetry}. */
export interface RetryDelay {
  /** The backoff alone (feed it back as `previousMs` for decorrelated jitter). */
  backoffMs: number;
  /** What to wait: the backoff, or the asked-for delay when that is longer. */
  delayMs: number;
  /** The delay the failure asked for, when it carried one. */
  retryAfterMs: number | undefined;
}

/**
 * The wait before retry number `retry` (1 for the first retry) after `failure`.
 *
 * @example
 * ```ts
 * const res = new Response(null, { status: 429, headers: { "retry-after": "30" } });
 * delayBeforeRetry(1, 0, res, { baseDelayMs: 100, now: Date.now() }).delayMs; // 30000
 * ```
 */
export function delayBeforeRetry(
  retry: number,
  previousMs: number,
  failure: unknown,
  { respectRetryAfter = true, now = Date.now(), ...backoff }: RetryDelayOptions = {},
): RetryDelay {
  const backoffMs = backoffDelay(retry, previousMs, backoff);
  const asked = respectRetryAfter ? retryAfterMs(failure, now) : undefined;
  return {
    backoffMs,
    delayMs: asked === undefined ? backoffMs : Math.max(backoffMs, asked),
    retryAfterMs: asked,
  };
}
