/**
 * One small interface over the two databases the local stack drives — a Postgres server through
 * postgres.js and embedded PGlite — so the migration runner and the seed CLI are written once.
 * @module
 */
import postgres from "postgres";
import type { PGlite } from "@electric-sql/pglite";

/** What the scripts need from a database connection. */
export interface SqlRunner {
  /** Runs one or more statements without parameters (simple query protocol). */
  exec(text: string): Promise<void>;
  /** Runs one parameterised statement and returns its rows. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` inside one transaction, committed on success and rolled back on error. */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/** Server error fields both drivers expose. */
export interface ServerError {
  message: string;
  code?: string;
  position?: string | number;
  detail?: string;
  hint?: string;
  where?: string;
}

/**
 * A runner over a Postgres URL with a single connection (scripts run statements in order).
 *
 * @example
 * ```ts
 * const db = postgresRunner("postgresql://postgres:postgres@127.0.0.1:54322/postgres");
 * await db.query("select 1");
 * await db.close();
 * ```
 */
export function postgresRunner(url: string): SqlRunner {
  const sql = postgres(url, {
    max: 1,
    // The URL may be a transaction pooler's, where a named statement does not outlive the
    // transaction that prepared it.
    prepare: false,
    onnotice: () => {},
    connection: { application_name: "comptoir-scripts" },
  });
  const wrap = (s: postgres.Sql | postgres.TransactionSql): SqlRunner => ({
    exec: async (text) => {
      await s.unsafe(text);
    },
    query: async <T>(text: string, params: unknown[] = []) =>
      (await s.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[],
    transaction: (fn) => {
      if ("savepoint" in s) return fn(wrap(s));
      return (s as postgres.Sql).begin((tx) => fn(wrap(tx))) as Promise<never>;
    },
    close: () => sql.end({ timeout: 5 }),
  });
  return wrap(sql);
}

/** A runner over an open PGlite instance. */
export function pgliteRunner(db: PGlite): SqlRunner {
  const wrap = (
    s: Pick<PGlite, "exec" | "query">,
    inTransaction: boolean,
  ): SqlRunner => ({
    exec: async (text) => {
      await s.exec(text);
    },
    query: async <T>(text: string, params: unknown[] = []) => (await s.query<T>(text, params)).rows,
    transaction: (fn) => {
      if (inTransaction) return fn(wrap(s, true));
      return db.transaction((tx) => fn(wrap(tx, true)));
    },
    close: () => db.close(),
  });
  return wrap(db, false);
}

/** Line number (1-based) of a character position (1-based) in `text`. */
export function lineOf(text: string, position: number): number {
  return text.slice(0, Math.max(0, position - 1)).split("\n").length;
}
