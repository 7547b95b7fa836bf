/**
 * The composition used for every flaky dependency: each attempt runs under its own timeout (never
 * beyond the request deadline), through the dependency's circuit breaker, inside one retry loop.
 * An open breaker stops the retries at once (it is not retryable) and a passed deadline stops
 * everything, including the wait between attempts.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import type { CircuitBreaker } from "./circuit_breaker.ts";
import type { Deadline } from "./deadline.ts";
import { withTimeout } from "./deadline.ts";
import { DEFAULT_RETRY_BUDGET_MS, retry, type RetryOptions } from "./retry.ts";

/** What the guarded function receives. */
export interface ResilientContext {
  /** Aborts on the attempt's timeout, the deadline or the caller's signal: pass it down. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
}

/** Options of {@linkcode resilient}. */
export interface ResilientOptions {
  /** Retry policy; `idempotent: true` is required for any retry to happen. Omit for one attempt. */
  retry?: Omit<RetryOptions, "signal" | "clock">;
  /** The dependency's breaker (from a {@linkcode BreakerRegistry}). */
  breaker?: CircuitBreaker;
  /** Timeout of each attempt in ms. */
  timeout?: number;
  /** The request deadline; attempts and waits never outlive it. */
  deadline?: Deadline;
  /** Cancels everything. */
  signal?: AbortSignal;
  /** Time source. */
  clock?: Clock;
}

/**
 * Runs `fn` with retry, breaker and timeout.
 *
 * @example
 * ```ts
 * const rows = await resilient(({ signal }) => sql`select 1`.execute(), {
 *   retry: { idempotent: true, attempts: 3 },
 *   breaker: breakers.get("postgres"),
 *   timeout: 2000,
 *   deadline: c.get("deadline"),
 * });
 * ```
 */
export function resilient<T>(
  fn: (context: ResilientContext) => Promise<T>,
  { retry: retryOptions = {}, breaker, timeout, deadline, signal, clock = realClock }:
    ResilientOptions = {},
): Promise<T> {
  const signals = [deadline?.signal, signal].filter((s): s is AbortSignal => s !== undefined);
  const outer = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const budgetMs = Math.min(
    retryOptions.budgetMs ?? DEFAULT_RETRY_BUDGET_MS,
    deadline?.remainingMs() ?? Infinity,
  );
  return retry(({ attempt }) => {
    const run = () =>
      withTimeout((attemptSignal) => fn({ signal: attemptSignal, attempt }), {
        timeoutMs: timeout,
        deadline,
        signal,
        clock,
      });
    return breaker ? breaker.execute(run) : run();
  }, { ...retryOptions, budgetMs, signal: outer, clock });
}
