/**
 * Database errors at the HTTP edge: one mapping from SQLSTATE (the table of db/sqlstate.ts) to
 * problem+json, so a bad input that reaches Postgres is a 4xx, an unavailable database a 503, and
 * only the unexpected a 500. Codes a function's own SQL raises (class `CT` for the api) are mapped
 * by that function, through the `problemFor` option: the shared library knows none of them.
 * Clients get fixed, documented messages: the server's text and SQLSTATE (which name columns,
 * types and the values a client sent) are logged here, never answered.
 * Every call runs through the "database" circuit breaker: while it is open the answer is an
 * immediate 503 `dependency-unavailable` with `Retry-After` and `retry_after_ms`. Reads are retried
 * on transient failures (`idempotent: true`); writes never are.
 * @module
 */
import { circuitOpenProblem, problem, ProblemError, problems } from "../http/problem.ts";
import { classify } from "../resilience/classify.ts";
import { CircuitOpenError } from "../resilience/errors.ts";
import { retryDependency } from "../resilience/dependency_retry.ts";
import { databaseBreaker } from "./client.ts";
import { sqlStateRule } from "./sqlstate.ts";

/** Fields postgres.js puts on a server error. */
export interface PgError {
  code?: string;
  message?: string;
  detail?: string;
}

/** Logs what the database said about a request it refused, for the operators only. */
function logRefusal(code: string, e: PgError): void {
  console.warn(JSON.stringify({
    level: "warn",
    msg: "database refused the request",
    sqlstate: code,
    error: typeof e.message === "string" ? e.message.slice(0, 500) : undefined,
  }));
}

const unavailable = (cause?: unknown) =>
  new ProblemError(problems.serviceUnavailable("The database is unavailable; retry later"), {
    headers: { "retry-after": "1" },
    cause,
  });

/**
 * The problem for a database error, or undefined when it is unexpected (a 500). The answer's
 * text is fixed per kind; the server's message is logged, not answered.
 *
 * @example
 * ```ts
 * try { await sql`...` } catch (err) { throw problemFromDbError(err) ?? err; }
 * ```
 */
export function problemFromDbError(err: unknown): ProblemError | undefined {
  const e = err as PgError;
  const code = typeof e?.code === "string" ? e.code : undefined;
  if (!code) return undefined;
  switch (sqlStateRule(code).kind) {
    case "forbidden":
      logRefusal(code, e);
      return new ProblemError(problems.forbidden("This caller may not do this"));
    case "bad_value":
      // A value the database cannot use: out of range, of the wrong type, or a cursor that was
      // not made for this query.
      logRefusal(code, e);
      return new ProblemError(
        problems.badRequest(
          "A value in the request cannot be used (out of range, or a cursor of another query)",
        ),
      );
    case "constraint":
      logRefusal(code, e);
      return new ProblemError(
        problem("constraint-violation", "The change conflicts with existing data"),
      );
    case "unavailable":
    case "timeout":
      return unavailable();
    case "conflict":
      // A read was retried and lost again, or a write lost to a concurrent one: nothing was
      // changed, and the same request may succeed a moment later.
      logRefusal(code, e);
      return new ProblemError(
        problems.serviceUnavailable("The request collided with a concurrent one; retry it"),
        { headers: { "retry-after": "1" } },
      );
    case "other":
      return undefined;
  }
}

/**
 * Whether `err` means the database could not be reached at all (no SQLSTATE): postgres.js's own
 * connection codes, and every socket failure the shared classification knows (`EPIPE` when a
 * write meets a connection the server just closed, `ECONNREFUSED` while it is down...).
 */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === "CONNECTION_ENDED" || code === "CONNECTION_DESTROYED" ||
    classify(err).kind === "network";
}

/** Options of {@linkcode withDbErrors}. */
export interface WithDbErrorsOptions {
  /**
   * The call only reads (one statement, or a read-only transaction), so running it again after a
   * transient failure is safe: serialization failure (40001), deadlock (40P01), admin shutdown
   * (57P01), connection lost or refused before any result. Default `false`: a write runs once.
   */
  idempotent?: boolean;
  /**
   * The problem for the codes of the function's own SQL (e.g. the api's `CT` class), tried before
   * the shared table; `undefined` leaves the error to it.
   */
  problemFor?: (error: PgError) => ProblemError | undefined;
}

/**
 * Runs a database call through the database breaker, turning expected failures into their
 * problem responses. An idempotent call is retried on transient failures, with jitter, within
 * the request's deadline (resilience/dependency_retry.ts), inside one pass through the breaker.
 *
 * @example
 * ```ts
 * const rows = await withDbErrors(() => getDb()`select id from public.categories`.execute(), {
 *   idempotent: true,
 * });
 * ```
 */
export async function withDbErrors<T>(
  fn: () => Promise<T>,
  { idempotent = false, problemFor }: WithDbErrorsOptions = {},
): Promise<T> {
  try {
    // One breaker outcome per call, retries included: the breaker counts requests that failed,
    // so a read retried while the database is down does not open it on its own.
    return await databaseBreaker().execute(() =>
      idempotent ? retryDependency("postgres", fn, DB_READ_RETRY) : fn()
    );
  } catch (err) {
    if (err instanceof CircuitOpenError) throw circuitOpenProblem(err);
    const own = problemFor?.(err as PgError);
    if (own) throw own;
    const known = problemFromDbError(err);
    if (known) throw known;
    if (isConnectionError(err)) throw unavailable(err);
    throw err;
  }
}

/**
 * Retries of a database read: three more attempts at most, the first after up to 50 ms (postgres.js
 * reconnects in 50 ms after a lost connection), all within 2 s and the request's deadline.
 */
const DB_READ_RETRY = { attempts: 4, baseDelayMs: 50, maxDelayMs: 500, budgetMs: 2_000 } as const;
