/**
 * Hono middleware that gives every request a {@linkcode Deadline} and answers 504 problem+json when
 * it passes. Hono's own `timeout` middleware races the handler but hands it no signal, so the work
 * would go on after the client got its 504; here the deadline's signal reaches every child call.
 * The deadline is also the request's async context (`AsyncLocalStorage`), so shared code far from
 * the route — a retried database read, a rate-limit check — finds it with
 * {@linkcode currentDeadline} without every signature carrying it.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Context, MiddlewareHandler } from "hono";
import { type Clock, realClock } from "../clock.ts";
import { problem, ProblemError } from "../http/problem.ts";
import { Deadline } from "./deadline.ts";
import { DeadlineExceededError } from "./errors.ts";

/** Supabase closes a request after 150 s; answering at 140 s leaves room to log and respond. */
export const DEFAULT_REQUEST_DEADLINE_MS = 140_000;

const requestDeadlines = new AsyncLocalStorage<Deadline>();

/** Hono env of apps using {@linkcode requestDeadline}. */
export type DeadlineEnv = { Variables: { deadline: Deadline } };

/** Options of {@linkcode requestDeadline}. */
export interface RequestDeadlineOptions {
  /** Time a request may take, in ms. */
  timeoutMs?: number;
  /** Time source. */
  clock?: Clock;
}

/**
 * Sets `c.var.deadline` for the request; when it passes, the handler's signal aborts and the
 * client receives `504` problem+json (type `deadline-exceeded`) without waiting for the handler.
 *
 * @example
 * ```ts
 * const app = createFunctionApp("api");
 * app.use(requestDeadline({ timeoutMs: 30_000 }));
 * app.get("/slow", async (c) => {
 *   const res = await fetch("https://example.com", { signal: c.get("deadline").signal });
 *   return c.json(await res.json());
 * });
 * ```
 */
export function requestDeadline(
  { timeoutMs = DEFAULT_REQUEST_DEADLINE_MS, clock = realClock }: RequestDeadlineOptions = {},
): MiddlewareHandler<DeadlineEnv> {
  if (!(timeoutMs > 0)) throw new RangeError(`Deadline must be > 0 ms, got ${timeoutMs}`);
  return async function requestDeadline(c, next) {
    // The request's own signal aborts when the client goes away: no point finishing then either.
    const deadline = Deadline.after(timeoutMs, { clock, signal: c.req.raw.signal });
    c.set("deadline", deadline);
    let onAbort: (() => void) | undefined;
    const passed = new Promise<never>((_, reject) => {
      onAbort = () => reject(deadline.signal.reason);
      deadline.signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([requestDeadlines.run(deadline, next), passed]);
    } catch (error) {
      if (error instanceof DeadlineExceededError || deadline.signal.reason === error) {
        throw deadlineProblem(deadline, error);
      }
      throw error;
    } finally {
      if (onAbort) deadline.signal.removeEventListener("abort", onAbort);
      passed.catch(() => {/* settled or abandoned */});
      deadline.dispose();
    }
  };
}

/**
 * The request's deadline, or `undefined` outside {@linkcode requestDeadline}.
 *
 * @example
 * ```ts
 * const signal = getDeadline(c)?.signal;
 * ```
 */
export function getDeadline(c: Context): Deadline | undefined {
  return c.get("deadline" as never) as Deadline | undefined;
}

/**
 * The deadline of the request being handled, or `undefined` outside {@linkcode requestDeadline}.
 *
 * @example
 * ```ts
 * const budgetMs = Math.min(2_000, currentDeadline()?.remainingMs() ?? Infinity);
 * ```
 */
export function currentDeadline(): Deadline | undefined {
  return requestDeadlines.getStore();
}

function deadlineProblem(deadline: Deadline, cause: unknown): ProblemError {
  return new ProblemError(
    problem("deadline-exceeded", `The request did not complete within ${deadline.budgetMs} ms`, {
      deadline_ms: deadline.budgetMs,
    }),
    { cause },
  );
}
