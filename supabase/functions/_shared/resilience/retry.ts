/**
 * The one retry loop: exponential backoff with jitter, an attempt budget and a total-time budget,
 * `Retry-After` honoured, cancellation through an `AbortSignal`, and {@linkcode classify} deciding
 * what is worth another try.
 *
 * A call is treated as non-idempotent unless the caller says `idempotent: true`: a second POST that
 * creates a second order is worse than the error, so nothing is retried by default.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import type { Jitter } from "./backoff.ts";
import { type Classification, classify } from "./classify.ts";
import { delayBeforeRetry } from "./retry_delay.ts";

/** What the retried function receives. */
export interface AttemptContext {
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborts when the caller gives up; pass it to fetch/postgres.js so cancelled work stops. */
  signal: AbortSignal | undefined;
}

/** Passed to {@linkcode RetryOptions.onRetry} before each wait. */
export interface RetryEvent {
  /** The attempt that just failed. */
  attempt: number;
  /** How long the loop now waits, in ms. */
  delayMs: number;
  /** Why the attempt failed. */
  classification: Classification;
  /** The error or retryable response of the failed attempt. */
  failure: unknown;
}

/** Options of {@linkcode retry}. */
export interface RetryOptions {
  /** The call may be repeated safely (GET, upsert, replayable transaction). Default `false`. */
  idempotent?: boolean;
  /** Maximum attempts including the first. Default 3. */
  attempts?: number;
  /** Maximum total time in ms, waits included; a wait that would pass it is not started. */
  budgetMs?: number;
  /** First backoff delay in ms. Default 100. */
  baseDelayMs?: number;
  /** Backoff cap in ms. Default 5000. */
  maxDelayMs?: number;
  /** Jitter strategy. Default `full`. */
  jitter?: Jitter;
  /** Wait at least as long as a `Retry-After` the failure carries. Default `true`. */
  respectRetryAfter?: boolean;
  /** Cancels waiting and is handed to every attempt. */
  signal?: AbortSignal;
  /** Time source. */
  clock?: Clock;
  /** Source of randomness for jitter. */
  random?: () => number;
  /** Observes each retry (for logs and metrics). */
  onRetry?: (event: RetryEvent) => void;
}

/** Default attempt budget. */
export const DEFAULT_ATTEMPTS = 3;
/** Default total-time budget (ms). */
export const DEFAULT_RETRY_BUDGET_MS = 10_000;

/**
 * Runs `fn` until it succeeds, fails with something not worth retrying, or a budget runs out; then
 * throws the last error unchanged (callers branch on its type), or returns the last response when
 * `fn` resolved with a retryable `Response` (408/429/5xx) every time.
 *
 * @example
 * ```ts
 * const res = await retry(({ signal }) => fetch("https://example.com/rates", { signal }), {
 *   idempotent: true,
 *   attempts: 4,
 * });
 * ```
 */
export async function retry<T>(
  fn: (context: AttemptContext) => Promise<T>,
  {
    idempotent = false,
    attempts = DEFAULT_ATTEMPTS,
    budgetMs = DEFAULT_RETRY_BUDGET_MS,
    baseDelayMs,
    maxDelayMs,
    jitter,
    respectRetryAfter = true,
    signal,
    clock = realClock,
    random,
    onRetry,
  }: RetryOptions = {},
): Promise<T> {
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`Attempts must be a positive integer, got ${attempts}`);
  }
  if (!(budgetMs >= 0)) throw new RangeError(`Budget must be >= 0 ms, got ${budgetMs}`);
  const started = clock.now();
  let previousDelay = 0;
  for (let attempt = 1;; attempt++) {
    signal?.throwIfAborted();
    let failure: unknown;
    try {
      const value = await fn({ attempt, signal });
      if (!(value instanceof Response) || !classify(value).retryable) return value;
      failure = value;
    } catch (error) {
      // The caller cancelled: whatever the attempt threw, there is nobody left to retry for.
      if (signal?.aborted) throw error;
      failure = error;
    }

    const classification = classify(failure);
    if (!idempotent || !classification.retryable || attempt >= attempts) {
      return giveUp<T>(failure);
    }
    const { backoffMs, delayMs } = delayBeforeRetry(attempt, previousDelay, failure, {
      baseDelayMs,
      maxDelayMs,
      jitter,
      random,
      respectRetryAfter,
      now: clock.now(),
    });
    previousDelay = backoffMs;
    if (clock.now() - started + delayMs > budgetMs) return giveUp<T>(failure);

    onRetry?.({ attempt, delayMs, classification, failure });
    if (failure instanceof Response) await failure.body?.cancel();
    await clock.sleep(delayMs, signal);
  }
}

function giveUp<T>(failure: unknown): T {
  if (failure instanceof Response) return failure as T;
  throw failure;
}
