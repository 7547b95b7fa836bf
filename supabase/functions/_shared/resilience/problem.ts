/**
 * Turns resilience failures into the problem+json the client receives: an open breaker becomes
 * 503 with `Retry-After`, a passed deadline or a timed-out dependency becomes 504.
 * @module
 */
import { ProblemError } from "../http/problem.ts";
import { CircuitOpenError, DeadlineExceededError, TimeoutError } from "./errors.ts";

/**
 * 503 `dependency-unavailable` for an open breaker, with `Retry-After` in whole seconds (rounded
 * up, RFC 9110 §10.2.3 has no fractions) and the exact delay as `retry_after_ms`.
 *
 * @example
 * ```ts
 * try {
 *   await breaker.execute(call);
 * } catch (e) {
 *   if (e instanceof CircuitOpenError) throw circuitOpenProblem(e);
 *   throw e;
 * }
 * ```
 */
export function circuitOpenProblem(error: CircuitOpenError): ProblemError {
  const seconds = Math.ceil(error.retryAfterMs / 1000);
  return new ProblemError({
    type: "dependency-unavailable",
    status: 503,
    title: "Service Unavailable",
    detail: `A service this request needs (${error.dependency}) is failing; try again later`,
    dependency: error.dependency,
    retry_after_ms: error.retryAfterMs,
  }, { headers: { "retry-after": String(seconds) }, cause: error });
}

/**
 * The problem for any resilience failure, or `undefined` for other errors (which keep their own
 * handling). Meant for a route's catch block or an app's error handler.
 *
 * @example
 * ```ts
 * const problem = resilienceProblem(err);
 * if (problem) throw problem;
 * ```
 */
export function resilienceProblem(error: unknown): ProblemError | undefined {
  if (error instanceof CircuitOpenError) return circuitOpenProblem(error);
  if (error instanceof DeadlineExceededError || error instanceof TimeoutError) {
    return new ProblemError({
      type: "upstream-timeout",
      status: 504,
      title: "Gateway Timeout",
      detail: "A service this request needs did not answer in time",
    }, { cause: error });
  }
  return undefined;
}
