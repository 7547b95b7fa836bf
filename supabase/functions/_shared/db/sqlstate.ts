/**
 * The one SQLSTATE table of comptoir: what a Postgres error code means for the HTTP answer
 * (db/errors.ts), for retries and the database breaker (resilience/classify.ts), and for the
 * metrics of a failed checkout (api/orders.ts). Codes in class `CT` are a function's own (raised by
 * its SQL functions) and are not in this table: the function maps them (api/shop_errors.ts).
 * @module
 */

/** What a SQLSTATE says happened. */
export type SqlStateKind =
  /** The database cannot serve now: connection failure, shutdown, restart, no free connection. */
  | "unavailable"
  /** The statement ran out of time (statement_timeout) or was cancelled. */
  | "timeout"
  /** The transaction lost to a concurrent one (serialization failure, deadlock): replayable. */
  | "conflict"
  /** A value the database cannot use (class 22: out of range, bad format, a foreign cursor). */
  | "bad_value"
  /** An integrity constraint (class 23). */
  | "constraint"
  /** The role may not do this (42501; RLS refusals included). */
  | "forbidden"
  /** Anything else: a programming error, a 500. */
  | "other";

/** How a SQLSTATE is handled. */
export interface SqlStateRule {
  kind: SqlStateKind;
  /** Whether running the same idempotent call again may succeed (and the breaker counts it). */
  retryable: boolean;
}

const rule = (kind: SqlStateKind, retryable: boolean): SqlStateRule => ({ kind, retryable });

/** Codes with a rule of their own (PostgreSQL appendix A). */
const CODES: Readonly<Record<string, SqlStateRule>> = {
  "57P01": rule("unavailable", true), // admin_shutdown
  "57P02": rule("unavailable", true), // crash_shutdown
  "57P03": rule("unavailable", true), // cannot_connect_now
  "53300": rule("unavailable", true), // too_many_connections
  // query_canceled (statement_timeout): running it again would double the load that made it slow.
  "57014": rule("timeout", false),
  "40001": rule("conflict", true), // serialization_failure
  "40P01": rule("conflict", true), // deadlock_detected
  "42501": rule("forbidden", false), // insufficient_privilege
};

/** Classes with one rule for all their codes. */
const CLASSES: Readonly<Record<string, SqlStateRule>> = {
  "08": rule("unavailable", true), // connection exceptions
  "22": rule("bad_value", false), // data exceptions
  "23": rule("constraint", false), // integrity constraint violations
};

const OTHER = rule("other", false);

/**
 * The rule of a SQLSTATE.
 *
 * @example
 * ```ts
 * sqlStateRule("57P02"); // { kind: "unavailable", retryable: true }
 * sqlStateRule("23505").kind; // "constraint"
 * ```
 */
export function sqlStateRule(code: string): SqlStateRule {
  return CODES[code] ?? CLASSES[code.slice(0, 2)] ?? OTHER;
}
