/**
 * The errors the resilience library throws, in one place so that classification, the HTTP edge and
 * callers can all recognise them without importing the machinery that raises them.
 * @module
 */

/**
 * One call took longer than its own timeout. The dependency may just be slow, so retrying is
 * allowed (within the caller's remaining time).
 *
 * @example
 * ```ts
 * throw new TimeoutError(2000);
 * ```
 */
export class TimeoutError extends Error {
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options: { cause?: unknown } = {}) {
    super(`Operation timed out after ${timeoutMs} ms`, options);
    this.name = "TimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The request's deadline passed: no time is left for this or any further attempt, so it is never
 * retried; the HTTP edge answers 504.
 *
 * @example
 * ```ts
 * throw new DeadlineExceededError(140_000);
 * ```
 */
export class DeadlineExceededError extends Error {
  /** The total time the request was given, in milliseconds. */
  readonly budgetMs: number;

  constructor(budgetMs: number) {
    super(`Request deadline of ${budgetMs} ms exceeded`);
    this.name = "DeadlineExceededError";
    this.budgetMs = budgetMs;
  }
}

/**
 * A circuit breaker is open (or its half-open probes are all taken) and refused the call without
 * running it. `retryAfterMs` says when the breaker will next let a probe through.
 *
 * @example
 * ```ts
 * throw new CircuitOpenError("postgres", 30_000);
 * ```
 */
export class CircuitOpenError extends Error {
  /** Name of the dependency whose breaker refused the call. */
  readonly dependency: string;
  /** Milliseconds until the breaker admits a probe again. */
  readonly retryAfterMs: number;

  constructor(dependency: string, retryAfterMs: number) {
    super(`Circuit for ${dependency} is open; retry in ${Math.max(0, retryAfterMs)} ms`);
    this.name = "CircuitOpenError";
    this.dependency = dependency;
    this.retryAfterMs = Math.max(0, retryAfterMs);
  }
}
