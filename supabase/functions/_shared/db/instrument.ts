/**
 * Database metrics at the one place every statement of the functions goes through: the shared
 * postgres.js client. {@linkcode instrumentDb} wraps a client so that each statement is observed
 * in `comptoir_db_query_duration_seconds` by its operation (the statement's leading keyword, never
 * its text: a bounded label), each failure counted in `comptoir_db_errors_total` by SQLSTATE class,
 * and each `begin … commit` block observed once as `transaction`.
 *
 * Pool use is counted here rather than read from the driver: postgres.js exposes no public pool
 * statistics (and its private fields change between major versions). A statement outside a
 * transaction holds one connection while it runs, a transaction holds one from `begin` to its end;
 * so with `active` of them started and not finished, `min(active, max)` connections are in use and
 * the rest wait for one — the gauges `comptoir_db_pool_connections_in_use` / `_waiting` / `_max`.
 * Time spent waiting for a connection is part of a statement's duration, as the contract says.
 *
 * The test-only fault of metrics/fault_switch.ts (`x-comptoir-fault-db-sleep-ms`) is applied
 * here too: each statement of such a request is preceded by `select pg_sleep(…)` on the same
 * pool (inside its transaction when it has one), so the slowness is real and measured like any
 * other.
 * @module
 */
import type postgres from "postgres";
import { recordDbPool, recordDbQuery } from "../metrics/hooks.ts";
import { sqlOperation, sqlstateClass } from "../metrics/labels.ts";
import { currentDbSleepMs } from "../metrics/fault_switch.ts";

/** Options of {@linkcode instrumentDb}. */
export interface InstrumentDbOptions {
  /** The client's pool size (`max`). */
  max: number;
  /** Receives each pool change (default: the pool gauges). */
  onPool?: (inUse: number, max: number, waiting: number) => void;
  /** Receives each statement (default: the query histogram and the error counter). */
  onQuery?: (operation: string, seconds: number, sqlstateClass?: string) => void;
}

/** Pool accounting of one instrumented client. */
class PoolAccount {
  active = 0;
  constructor(
    readonly max: number,
    readonly report: (inUse: number, max: number, waiting: number) => void,
  ) {
    report(0, max, 0);
  }

  change(delta: number): void {
    this.active += delta;
    const inUse = Math.min(this.active, this.max);
    this.report(inUse, this.max, this.active - inUse);
  }
}

type Observe = (operation: string, seconds: number, sqlstateClass?: string) => void;

/**
 * Wraps `sql` so that its statements, transactions and pool use are recorded. The result is used
 * exactly like `sql`: tagged templates, `unsafe`, `begin`, helpers (`sql.json`, `sql(ids)`).
 *
 * @example
 * ```ts
 * const sql = instrumentDb(createDb({ url, max: 3 }), { max: 3 });
 * await sql`select 1`; // observed as operation "select"
 * ```
 */
export function instrumentDb(
  sql: postgres.Sql,
  {
    max,
    onPool = recordDbPool,
    onQuery = recordDbQuery,
  }: InstrumentDbOptions,
): postgres.Sql {
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`Pool size must be a positive integer, got ${max}`);
  }
  return wrap(sql, new PoolAccount(max, onPool), onQuery, false);
}

function isTemplate(value: unknown): value is TemplateStringsArray {
  return Array.isArray(value) && Array.isArray((value as { raw?: unknown }).raw);
}

/** `sql` is the client, or a transaction's `tx` when `inTransaction` (its connection is held). */
function wrap<S extends postgres.Sql | postgres.TransactionSql>(
  sql: S,
  pool: PoolAccount,
  observe: Observe,
  inTransaction: boolean,
): S {
  return new Proxy(sql, {
    apply(target, thisArg, args: unknown[]) {
      const query = Reflect.apply(target as never, thisArg, args);
      // `sql(value)` builds a fragment (identifiers, a list): only tagged templates are statements.
      if (!isTemplate(args[0])) return query;
      return track(query, sqlOperation(args[0].join("?")), target, pool, observe, inTransaction);
    },
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (property === "unsafe") {
        return (text: string, ...rest: unknown[]) =>
          track(
            (value as (...a: unknown[]) => unknown).call(target, text, ...rest),
            sqlOperation(text),
            target,
            pool,
            observe,
            inTransaction,
          );
      }
      if (property === "batch") {
        // A batch is one exchange (its statements, then one Sync): observed once, as the
        // operation of its last statement, the one the others prepare.
        return (queries: unknown[]) => {
          const last = queries[queries.length - 1];
          const operation = (last ? operations.get(last as object) : undefined) ?? "select";
          return track(
            (value as (q: unknown[]) => unknown).call(target, queries),
            operation,
            target,
            pool,
            observe,
            inTransaction,
          );
        };
      }
      if (property === "begin" && !inTransaction) {
        return (...args: unknown[]) => {
          const body = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return observed(
            "transaction",
            pool,
            observe,
            true,
            () =>
              (value as (...a: unknown[]) => Promise<unknown>).call(
                target,
                ...args,
                (tx: postgres.TransactionSql) => body(wrap(tx, pool, observe, true)),
              ),
          );
        };
      }
      if (property === "savepoint") {
        return (...args: unknown[]) => {
          const body = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return (value as (...a: unknown[]) => unknown).call(
            target,
            ...args,
            (tx: postgres.TransactionSql) => body(wrap(tx, pool, observe, true)),
          );
        };
      }
      return value;
    },
  });
}

/**
 * Runs `run` timed, counting it in the pool when it takes a connection of its own.
 */
async function observed<T>(
  operation: string,
  pool: PoolAccount,
  observe: Observe,
  takesConnection: boolean,
  run: () => Promise<T>,
): Promise<T> {
  const started = performance.now();
  if (takesConnection) pool.change(1);
  try {
    const value = await run();
    observe(operation, (performance.now() - started) / 1000);
    return value;
  } catch (error) {
    observe(operation, (performance.now() - started) / 1000, sqlstateClass(error));
    throw error;
  } finally {
    if (takesConnection) pool.change(-1);
  }
}

/** The operation of each tracked query, for the batch that carries it. */
const operations = new WeakMap<object, string>();

/**
 * Makes a pending postgres.js query observed when it runs. A query runs when first awaited
 * (`then`), which is also where its timing starts; a query never awaited — a fragment nested in
 * another statement — is never observed.
 */
function track(
  query: unknown,
  operation: string,
  sql: postgres.Sql | postgres.TransactionSql,
  pool: PoolAccount,
  observe: Observe,
  inTransaction: boolean,
): unknown {
  operations.set(query as object, operation);
  const pending = query as PromiseLike<unknown>;
  const then = pending.then;
  let settled: Promise<unknown> | undefined;
  Object.defineProperty(pending, "then", {
    configurable: true,
    writable: true,
    value(onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) {
      settled ??= observed(operation, pool, observe, !inTransaction, async () => {
        const sleepMs = currentDbSleepMs();
        if (sleepMs !== undefined) await sql`select pg_catalog.pg_sleep(${sleepMs / 1000})`;
        return await new Promise((resolve, reject) => then.call(pending, resolve, reject));
      });
      return settled.then(onFulfilled, onRejected);
    },
  });
  return query;
}
