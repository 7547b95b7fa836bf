/**
 * The one postgres.js factory of comptoir's functions, configured for Supabase's transaction pooler
 * (Supavisor, port 6543): `prepare: false` because a pooled transaction may land on another server
 * connection where a prepared statement does not exist; a small pool per isolate because isolates are
 * many and each holds its own; short connect / idle timeouts so a dead database fails fast and idle
 * isolates release their connections.
 *
 * The URL comes from the `COMPTOIR_DB_URL` secret (the Supabase CLI skips custom secrets whose name
 * starts with `SUPABASE_`). When it is absent, `SUPABASE_DB_URL` — a direct, unpooled connection that
 * Supabase sets for every function — is used, with one warning.
 *
 * Prepared statements through the pooler: Supabase documents that Supavisor in transaction mode
 * does not support them (troubleshooting "Disabling Prepared statements", 2025-02), and the
 * PgBouncer 1.18 the local stack runs (scripts/lib/pgbouncer.ts) has no `max_prepared_statements`
 * (1.21+). So `prepare: false`, and the round trip it would cost is saved otherwise: parameters are
 * typed (params.ts) so postgres.js sends Parse, Bind, Execute and Sync at once, and a caller's
 * settings travel in the same batch as the query (as_caller.ts). The postgres.js 4 README warns
 * that Supavisor before 2.10 hangs on pipelined queries in transaction mode (`max_pipeline: 1`
 * there); the local PgBouncer runs them (tests/api/claims_isolation_test.ts).
 *
 * | setting          | pooled (6543)        | direct (5432, SUPABASE_DB_URL) |
 * |------------------|----------------------|--------------------------------|
 * | prepare          | false (required)     | false (kept: same code path)   |
 * | max per isolate  | 3                    | 1-3; the server's slots are scarce |
 * | idle_timeout     | 20 s                 | 20 s                           |
 * | connect_timeout  | 5 s                  | 5 s                            |
 * | reconnect pause  | 50 ms per failure in a row, at most 0.5 s (postgres.js: up to 20 s) |
 *
 * Driver: postgres.js 4.1.0. 3.4.9 can kill the whole process when a connection closes with a small
 * write queued: `write()` defers writes under 1 KB with `setImmediate(nextWrite)`, `closed()` nulls
 * the socket, and the deferred `socket.write` throws an uncaught `TypeError: Cannot read properties
 * of null (reading 'write')` that no caller can catch (porsager/postgres#1154, #1208; the fixes,
 * #1168 and #1209, are unreleased; denoland/deno#34667 was closed as a userland bug). Postgres
 * stopping while orders were placed took the gateway down with it, and on the edge runtime the
 * isolate and every request it held. 4.x is the maintainer's release line, a rewrite whose socket
 * layer drops writes once closed (`src/socket.js`: `write: data => !closed && socket.write(data)`)
 * and rejects the queries of a dead connection with `CONNECTION_CLOSED` or the server's SQLSTATE;
 * tests/faults/driver_race_test.ts reproduces the crash in a child process (it fails on 3.4.9).
 * Chosen over carrying a patched 3.4.9: a fork must be re-applied and re-audited at every upstream
 * release and bundled into every function. What 4.x changes and why it does not touch comptoir:
 * parameter types are decided by the server (every parameter here is a string, a number, JSON or
 * has a cast, and time columns are timestamptz), `sql.array()` is gone (unused), transactions are
 * stricter (a query after `begin` settled rejects, which is what we want). The options below keep
 * their v3 meaning: `prepare`, `types` (int8), `backoff`, `max_lifetime`, `idle_timeout`,
 * `connect_timeout`; errors still carry `code` / `detail`, and connection failures keep the codes
 * resilience/classify.ts and db/errors.ts match (`ECONNREFUSED`, `CONNECTION_CLOSED`,
 * `CONNECT_TIMEOUT`, 57P01...).
 *
 * Calls go through the "database" circuit breaker ({@linkcode databaseBreaker}, used by
 * `withDbErrors()` and the Postgres rate-limit backend): once the database keeps failing, requests
 * are refused at once with 503 instead of each waiting for a connect timeout, and one probe per
 * `COMPTOIR_DB_BREAKER_OPEN_MS` finds out when it is back. Its state is shared through Redis when
 * Upstash is configured (see resilience/breakers.ts).
 * @module
 */
import postgres from "postgres";
import type { CircuitBreaker } from "../resilience/circuit_breaker.ts";
import { sharedBreakers } from "../resilience/breakers.ts";
import { instrumentDb } from "./instrument.ts";

/** Name of the secret holding the pooled database URL. */
export const DB_URL_ENV = "COMPTOIR_DB_URL";

/** Options of {@linkcode createDb}. */
export interface DbOptions {
  /** postgres:// URL; validated. */
  url: string;
  /** Connections per isolate. */
  max?: number;
  /** Seconds before an idle connection is closed. */
  idleTimeoutSeconds?: number;
  /** Seconds to wait for a connection. */
  connectTimeoutSeconds?: number;
  /** Server-side statement timeout in milliseconds. */
  statementTimeoutMs?: number;
  /** `application_name` shown in pg_stat_activity. */
  applicationName?: string;
  /** Queries pipelined on one connection (postgres.js `max_pipeline`, default 100). */
  maxPipeline?: number;
}

/** A postgres.js client. */
export type Sql = postgres.Sql;

/** Where the database URL came from. */
export interface DbUrlSource {
  url: string;
  /** Name of the environment variable it was read from. */
  from: string;
  /** False for SUPABASE_DB_URL, which bypasses the pooler. */
  pooled: boolean;
}

let warnedUnpooled = false;

/**
 * Reads the database URL from the environment: `COMPTOIR_DB_URL`, else `SUPABASE_DB_URL` with a
 * one-time warning that it is unpooled.
 *
 * @example
 * ```ts
 * const { url, pooled } = dbUrlFromEnv();
 * ```
 */
export function dbUrlFromEnv(env: Pick<typeof Deno.env, "get"> = Deno.env): DbUrlSource {
  const pooledUrl = env.get(DB_URL_ENV);
  if (pooledUrl) {
    return { url: validateDbUrl(pooledUrl, DB_URL_ENV), from: DB_URL_ENV, pooled: true };
  }
  const directUrl = env.get("SUPABASE_DB_URL");
  if (directUrl) {
    if (!warnedUnpooled) {
      warnedUnpooled = true;
      console.warn(JSON.stringify({
        level: "warn",
        msg: `${DB_URL_ENV} is not set; using SUPABASE_DB_URL, a direct connection that bypasses ` +
          `the transaction pooler — set ${DB_URL_ENV} to the pooler URL (port 6543)`,
      }));
    }
    return {
      url: validateDbUrl(directUrl, "SUPABASE_DB_URL"),
      from: "SUPABASE_DB_URL",
      pooled: false,
    };
  }
  throw new Error(`no database URL: set ${DB_URL_ENV} (or SUPABASE_DB_URL)`);
}

/**
 * Checks that `url` is a usable postgres URL and returns it; the error never repeats the URL,
 * which holds a password.
 */
export function validateDbUrl(url: string, name = "database URL"): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(
      `${name} is not a valid URL (expected postgresql://user:pass@host:port/db)`,
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new TypeError(`${name} must start with postgresql:// (got ${parsed.protocol}//)`);
  }
  if (!parsed.hostname) throw new TypeError(`${name} has no host`);
  if (parsed.port && !/^\d+$/.test(parsed.port)) throw new TypeError(`${name} has a bad port`);
  return url;
}

/**
 * Creates a postgres.js client for the pooler.
 *
 * @example
 * ```ts
 * const sql = createDb({ url: dbUrlFromEnv().url });
 * const [{ now }] = await sql`select now()`;
 * ```
 */
export function createDb({
  url,
  max = 3,
  idleTimeoutSeconds = 20,
  connectTimeoutSeconds = 5,
  statementTimeoutMs = 10_000,
  applicationName = "comptoir-functions",
  maxPipeline = 100,
}: DbOptions): Sql {
  validateDbUrl(url);
  return postgres(url, {
    prepare: false,
    max,
    idle_timeout: idleTimeoutSeconds,
    connect_timeout: connectTimeoutSeconds,
    max_lifetime: 60 * 30,
    // Seconds before reconnecting after a failed attempt. postgres.js's default (3^n / 100 s with n
    // the failures in a row, shared by the pool, up to 20 s) would keep the pool away for up to
    // 20 s after the database is back; the database breaker already spaces attempts while it is
    // down (one probe per open period), so the client only needs a short pause.
    backoff: (retries: number) => Math.min(0.05 * retries, 0.5),
    // Never look up the server's types. Left on, 4.x loads them in the middle of the first query
    // that meets one, and the embedded PGlite of `deno task dev` (one session behind a socket)
    // loses the connection; loaded eagerly, the lookup is pipelined with the pool's first query,
    // which PgBouncer before 1.21 mishandles in transaction mode: it hands the server back at the
    // lookup's ReadyForQuery while the query's answers are still coming, marks it dirty and the
    // query never completes (pgbouncer/pgbouncer#759). The only custom types are two enums, read
    // as text either way; no query returns an array of them.
    fetch_types: false,
    // Queries in flight per connection. A pooler that cannot follow pipelined Syncs in transaction
    // mode (PgBouncer before 1.21, Supavisor before 2.10) needs 1; a batch (as_caller.ts) is one
    // Sync, so a request still costs one round trip there.
    max_pipeline: maxPipeline,
    onnotice: () => {},
    // int8 read as a JS number: ids and minor-unit amounts stay far below 2^53, and JSON has no
    // bigint. Only a parser: a custom serializer makes postgres.js 4 describe every statement
    // whose parameters are numbers before running it (one more round trip, `types.plain`).
    types: {
      int8: { from: [20], parse: (x: string) => Number(x) } as never,
    },
    connection: {
      application_name: applicationName,
      statement_timeout: statementTimeoutMs,
    },
  });
}

let shared: Sql | undefined;
let observed: Sql | undefined;

/**
 * The isolate's shared client, created on first use from the environment
 * (`COMPTOIR_DB_POOL_MAX` overrides the pool size, `COMPTOIR_DB_PIPELINE` the queries in flight per
 * connection), with its statements, transactions and pool use
 * recorded in the metrics (see instrument.ts).
 */
export function getDb(): Sql {
  if (!observed) {
    const raw = getUnobservedDb();
    observed = instrumentDb(raw, { max: raw.options.max });
  }
  return observed;
}

/**
 * The same client and pool as {@linkcode getDb}, without metrics: for the metrics flush only,
 * whose own statements would otherwise be new samples to flush, keeping an idle isolate flushing
 * forever.
 */
export function getUnobservedDb(): Sql {
  if (!shared) {
    const raw = Number(Deno.env.get("COMPTOIR_DB_POOL_MAX") ?? 3);
    shared = createDb({
      url: dbUrlFromEnv().url,
      max: Number.isInteger(raw) && raw > 0 ? raw : 3,
      maxPipeline: positiveIntFromEnv("COMPTOIR_DB_PIPELINE", 100),
    });
  }
  return shared;
}

/** Closes the isolate's shared client (graceful shutdown). */
export async function closeDb(): Promise<void> {
  const sql = shared;
  shared = undefined;
  observed = undefined;
  await sql?.end({ timeout: 5 });
}

/** Name of the database's circuit breaker (logs, metrics, the shared store's key). */
export const DATABASE_BREAKER = "database";

/** Breaker tuning: failures in a row that open it, and how long it stays open before a probe. */
export const DATABASE_BREAKER_DEFAULTS = { failureThreshold: 5, openMs: 10_000 } as const;

/**
 * The isolate's "database" breaker. Only failures that say the database is unreachable or
 * unhealthy count (connection refused or closed, connect and call timeouts, SQLSTATE class 08,
 * 57P01-03, 53300: see resilience/classify.ts); a constraint violation or a missing row does not.
 * `COMPTOIR_DB_BREAKER_FAILURES` and `COMPTOIR_DB_BREAKER_OPEN_MS` override the defaults.
 *
 * @example
 * ```ts
 * const rows = await databaseBreaker().execute(() => getDb()`select 1`.execute());
 * ```
 */
export function databaseBreaker(): CircuitBreaker {
  return sharedBreakers().get(DATABASE_BREAKER, {
    failureThreshold: positiveIntFromEnv(
      "COMPTOIR_DB_BREAKER_FAILURES",
      DATABASE_BREAKER_DEFAULTS.failureThreshold,
    ),
    openMs: positiveIntFromEnv("COMPTOIR_DB_BREAKER_OPEN_MS", DATABASE_BREAKER_DEFAULTS.openMs),
  });
}

function positiveIntFromEnv(name: string, fallback: number): number {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${raw}`);
  }
  return value;
}
