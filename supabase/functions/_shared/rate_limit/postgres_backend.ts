/**
 * Postgres backend: counters in the UNLOGGED table `rate_limit.counters`, updated under a row lock
 * by the SQL function `rate_limit.consume()` (migration 20261126120000), so concurrent isolates
 * count exactly. Unlogged because counters are worth nothing after a crash and a logged upsert
 * costs about three times as much (PLATFORM.md). Time comes from the database unless a clock is
 * given (tests), so isolates with skewed clocks still agree.
 *
 * One round trip per request. postgres.js sends a statement that has parameters and is not
 * prepared (`prepare: false`, required by the transaction pooler) in two round trips — Parse and
 * Describe first, to learn the parameter types, then Bind and Execute — which made a call cost
 * about 0.5 ms where `select 1` costs 0.1 ms (docs/benchmarks/rate-limit.md). The statement is
 * therefore sent without parameters: every value is either a checked safe integer, one of the
 * three algorithm names, or the counter key reduced to a closed set of characters that can never
 * end a SQL string literal ({@linkcode counterKeyLiteral}).
 *
 * Given the database's circuit breaker, the backend consults it before each call: while it is open
 * the store is reported unavailable at once (with the breaker's delay), and the policy's fail mode
 * decides without a connection attempt. Its calls do not count towards the breaker: a counter
 * update that times out on a saturated machine says nothing about the database being down, and
 * tripping the breaker for it would refuse every route. The routes' own calls judge the database.
 * @module
 */
import type { Sql } from "postgres";
import type { Clock } from "../clock.ts";
import type { CircuitBreaker } from "../resilience/circuit_breaker.ts";
import { withTimeout } from "../resilience/deadline.ts";
import { CircuitOpenError } from "../resilience/errors.ts";
import {
  type RateLimitAlgorithm,
  type RateLimitBackend,
  type RateLimitResult,
  type RateLimitRule,
  RateLimitStoreError,
} from "./types.ts";

/** Options of {@linkcode PostgresRateLimitBackend}. */
export interface PostgresRateLimitBackendOptions {
  /**
   * A postgres.js client (transaction pooler in production: `prepare: false`), or a function
   * returning it on first use (so the backend can be built before the environment is read).
   */
  sql: Sql | (() => Sql);
  /** Give up on the database after this long and let the policy's fail mode decide. */
  timeoutMs?: number;
  /** Pass this clock's time to SQL instead of using the database clock (tests). */
  clock?: Clock;
  /** The database's circuit breaker: consulted before each call, never fed. */
  breaker?: CircuitBreaker;
}

interface Row {
  allowed: boolean;
  remaining: number;
  reset_at_ms: string;
  limit_value: number;
}

const ALGORITHMS: ReadonlySet<RateLimitAlgorithm> = new Set([
  "sliding_window",
  "token_bucket",
  "fixed_window",
]);

/** Characters a counter key keeps as they are: all that user ids, addresses and hashes use. */
const KEY_SAFE = /^[A-Za-z0-9_.:/@+=-]*$/;
const KEY_SAFE_CHAR = /[A-Za-z0-9_.:/@+=-]/;
const utf8 = new TextEncoder();

/**
 * The counter key as a SQL string literal. Characters outside `[A-Za-z0-9_.:/@+=-]` are written
 * as `%XX` per UTF-8 byte (`%` itself included, so distinct keys stay distinct); what remains
 * cannot contain a quote or a backslash, whatever `standard_conforming_strings` says.
 *
 * @example
 * ```ts
 * counterKeyLiteral("catalog:ip:203.0.113.7"); // "'catalog:ip:203.0.113.7'"
 * counterKeyLiteral("x:user:o'brien"); // "'x:user:o%27brien'"
 * ```
 */
export function counterKeyLiteral(key: string): string {
  if (KEY_SAFE.test(key)) return `'${key}'`;
  let out = "";
  for (const char of key) {
    if (KEY_SAFE_CHAR.test(char)) {
      out += char;
      continue;
    }
    for (const byte of utf8.encode(char)) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return `'${out}'`;
}

/**
 * The `rate_limit.consume()` call for `rule` and `key`, every value checked and inlined.
 * Throws `RangeError` on a value that is not a safe integer or an unknown algorithm.
 *
 * @example
 * ```ts
 * consumeStatement({ name: "catalog", algorithm: "sliding_window", limit: 600, windowMs: 60_000,
 *   refill: 600 }, "catalog:ip:203.0.113.7", null);
 * ```
 */
export function consumeStatement(rule: RateLimitRule, key: string, nowMs: number | null): string {
  if (!ALGORITHMS.has(rule.algorithm)) {
    throw new RangeError(`Unknown rate-limit algorithm ${rule.algorithm}`);
  }
  const int = (value: number, what: string) => {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be an integer`);
    return String(value);
  };
  return "select allowed, remaining, reset_at_ms::text, limit_value from rate_limit.consume(" +
    `${counterKeyLiteral(key)}, '${rule.algorithm}', ${int(rule.limit, "limit")}, ` +
    `${int(rule.windowMs, "windowMs")}, ${int(rule.refill, "refill")}, 1, ` +
    `${nowMs === null ? "null" : int(nowMs, "now")})`;
}

/**
 * A {@linkcode RateLimitBackend} on Postgres.
 *
 * @example
 * ```ts
 * const backend = new PostgresRateLimitBackend({ sql: postgres(url, { prepare: false }) });
 * ```
 */
export class PostgresRateLimitBackend implements RateLimitBackend {
  readonly kind = "postgres";
  readonly #sql: () => Sql;
  readonly #timeoutMs: number;
  readonly #clock: Clock | undefined;
  readonly #breaker: CircuitBreaker | undefined;

  constructor({ sql, timeoutMs = 1000, clock, breaker }: PostgresRateLimitBackendOptions) {
    this.#sql = typeof sql === "function" && !("unsafe" in sql) ? sql : () => sql as Sql;
    this.#timeoutMs = timeoutMs;
    this.#clock = clock;
    this.#breaker = breaker;
  }

  async consume(rule: RateLimitRule, identity: string): Promise<RateLimitResult> {
    const statement = consumeStatement(
      rule,
      `${rule.name}:${identity}`,
      this.#clock?.now() ?? null,
    );
    const call = () =>
      withTimeout((signal) => {
        const query = this.#sql().unsafe<Row[]>(statement);
        signal.addEventListener("abort", () => query.cancel(), { once: true });
        return query.execute();
      }, { timeoutMs: this.#timeoutMs });
    const refusedForMs = await this.#breaker?.refusalMs() ?? 0;
    if (refusedForMs > 0) {
      throw new RateLimitStoreError(this.kind, "unavailable", {
        cause: new CircuitOpenError(this.#breaker!.name, refusedForMs),
        retryAfterMs: refusedForMs,
      });
    }
    let rows: Row[];
    try {
      rows = await call();
    } catch (error) {
      const reason = error instanceof Error && error.name === "TimeoutError"
        ? "timeout"
        : "unavailable";
      throw new RateLimitStoreError(this.kind, reason, { cause: error });
    }
    const row = rows[0];
    return {
      allowed: row.allowed,
      limit: row.limit_value,
      remaining: row.remaining,
      resetAt: Number(row.reset_at_ms),
    };
  }
}
