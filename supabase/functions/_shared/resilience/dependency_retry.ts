/**
 * How comptoir retries a call to a dependency: the one retry loop of retry.ts with full jitter,
 * bounded by the time the current request has left (its {@linkcode Deadline}, found through
 * `currentDeadline()` so that shared code deep below a route needs no extra parameter), and counted
 * in `comptoir_retries_total` by dependency and outcome.
 *
 * Only calls that are safe to repeat come here: idempotent reads of the database (a statement or a
 * read-only transaction that failed before giving any result) and Upstash commands. A write that is
 * not idempotent — placing an order — is never passed to this function.
 * @module
 */
import { recordRetries } from "../metrics/hooks.ts";
import { currentDeadline } from "./deadline_middleware.ts";
import { retry, type RetryOptions } from "./retry.ts";

/** Tuning of {@linkcode retryDependency}. */
export type DependencyRetryOptions = Pick<
  RetryOptions,
  "attempts" | "budgetMs" | "baseDelayMs" | "maxDelayMs" | "random" | "clock"
>;

/**
 * Runs `fn` with retries on transient failures (see classify.ts), never beyond the current
 * request's deadline, and counts the retries made under `dependency`.
 *
 * @example
 * ```ts
 * const rows = await retryDependency("postgres", () => sql`select 1`.execute(), { attempts: 3 });
 * ```
 */
export async function retryDependency<T>(
  dependency: string,
  fn: () => Promise<T>,
  { budgetMs = 2_000, ...options }: DependencyRetryOptions = {},
): Promise<T> {
  const deadline = currentDeadline();
  let retries = 0;
  try {
    const value = await retry(() => fn(), {
      ...options,
      idempotent: true,
      jitter: "full",
      budgetMs: Math.min(budgetMs, deadline?.remainingMs() ?? Infinity),
      signal: deadline?.signal,
      onRetry: () => retries++,
    });
    recordRetries(dependency, retries, "recovered");
    return value;
  } catch (error) {
    recordRetries(dependency, retries, "failed");
    throw error;
  }
}
