/**
 * Postgres backend: counters in the UNLOGGED table `rate_limit.counters`, updated under a row lock
 * by the SQL function `rate_limit.consume()` (migration 20261126120000), so concurrent isolates
 * count exactly. Unlogged because counters are worth nothing after a crash and a logged upsert
 * costs about three times as much (PLATFORM.md). Time comes from the database unless a clock is
 * given (tests), so isolates with skewed clocks still agree.
 * @module
 */
import type { Sql } from "postgres";
import type { Clock } from "../clock.ts";
import { withTimeout } from "../resilience/deadline.ts";
import {
  type RateLimitBackend,
  type RateLimitResult,
  type RateLimitRule,
  RateLimitStoreError,
} from "./types.ts";

/** Options of {@linkcode PostgresRateLimitBackend}. */
export interface PostgresRateLimitBackendOptions {
  /** A postgres.js client (transaction pooler in production: `prepare: false`). */
  sql: Sql;
  /** Give up on the database after this long and let the policy's fail mode decide. */
  timeoutMs?: number;
  /** Pass this clock's time to SQL instead of using the database clock (tests). */
  clock?: Clock;
}

interface Row {
  allowed: boolean;
  remaining: number;
  reset_at_ms: string;
  limit_value: number;
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
  readonly #sql: Sql;
  readonly #timeoutMs: number;
  readonly #clock: Clock | undefined;

  constructor({ sql, timeoutMs = 1000, clock }: PostgresRateLimitBackendOptions) {
    this.#sql = sql;
    this.#timeoutMs = timeoutMs;
    this.#clock = clock;
  }

  async consume(rule: RateLimitRule, identity: string): Promise<RateLimitResult> {
    const now = this.#clock?.now() ?? null;
    let rows: Row[];
    try {
      rows = await withTimeout((signal) => {
        const query = this.#sql<Row[]>`
          select allowed, remaining, reset_at_ms::text, limit_value
          from rate_limit.consume(
            ${`${rule.name}:${identity}`}, ${rule.algorithm}, ${rule.limit}, ${rule.windowMs},
            ${rule.refill}, 1, ${now}
          )`;
        signal.addEventListener("abort", () => query.cancel(), { once: true });
        return query.execute();
      }, { timeoutMs: this.#timeoutMs });
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
