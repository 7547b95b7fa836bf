/**
 * Runs user-scoped queries the way PostgREST does: `role` switched to the caller's database role,
 * `request.jwt.claims` set to the verified claims and `comptoir.request_id` to the request's id
 * (what audit triggers read), all transaction-local (`set_config(..., true)`), so RLS enforces
 * ownership even if a query forgets to filter, and nothing leaks to the next transaction on a
 * pooled connection.
 *
 * The settings and the query travel together: {@linkcode asCaller} sends them as one postgres.js
 * batch — both statements, then one Sync — which PostgreSQL runs as one implicit transaction,
 * ended by the Sync. One round trip instead of five (begin, set_config, Parse/Describe, Bind/Execute,
 * commit), and through a transaction-mode pooler the batch is one transaction, so it stays on one
 * server connection and the settings end with it (tests/api/claims_isolation_test.ts).
 * @module
 */
import type postgres from "postgres";
import type { Caller } from "../auth/caller.ts";
import { text } from "./params.ts";

/** Who a database call is made for: the caller's role and claims, and the request's id. */
export type CallerContext = Pick<Caller, "dbRole" | "claims" | "requestId">;

/**
 * The statement that makes the rest of the transaction run as `caller`; `asRole: false` sets the
 * claims and the request id only (statements that must run as the connection's own role but
 * should still be attributed to the caller, e.g. `shop_api` functions).
 *
 * @example
 * ```ts
 * await sql.batch([callerSettings(sql, caller), sql`select public.order_details(${id})`]);
 * ```
 */
export function callerSettings(
  sql: postgres.Sql,
  caller: CallerContext,
  { asRole = true }: { asRole?: boolean } = {},
): postgres.PendingQuery<postgres.Row[]> {
  const claims = text(sql, JSON.stringify(caller.claims));
  const requestId = text(sql, caller.requestId ?? "");
  return asRole
    ? sql`select set_config('role', ${text(sql, caller.dbRole)}, true),
                 set_config('request.jwt.claims', ${claims}, true),
                 set_config('comptoir.request_id', ${requestId}, true)`
    : sql`select set_config('request.jwt.claims', ${claims}, true),
                 set_config('comptoir.request_id', ${requestId}, true)`;
}

/**
 * Runs one statement as `caller`, in the same implicit transaction as the settings.
 *
 * @example
 * ```ts
 * const orders = await asCaller(sql, caller, (q) => q`select id from public.orders`);
 * ```
 */
export async function asCaller<T extends readonly postgres.MaybeRow[] = postgres.Row[]>(
  sql: postgres.Sql,
  caller: CallerContext,
  query: (sql: postgres.Sql) => postgres.PendingQuery<T>,
): Promise<T> {
  const [, rows] = await sql.batch([callerSettings(sql, caller), query(sql)] as const);
  return rows as T;
}

/**
 * Makes the rest of an open transaction run as `caller` (role, claims and request id), for work
 * that needs several statements in one transaction of its own (an export's repeatable-read
 * snapshot, an audited read).
 *
 * @example
 * ```ts
 * await sql.begin("isolation level repeatable read read only", async (tx) => {
 *   await becomeCaller(tx, caller);
 *   return await tx`select count(*) from public.orders`;
 * });
 * ```
 */
export async function becomeCaller(
  tx: postgres.TransactionSql,
  caller: CallerContext,
): Promise<void> {
  await callerSettings(tx as unknown as postgres.Sql, caller);
}

/**
 * Names `caller` and its request for the rest of an open transaction without switching role: the
 * audit trail then records who changed what (auth.uid(), auth.role(), comptoir.request_id) for
 * statements that run as the connection's own role, such as `audit.log_event`.
 *
 * @example
 * ```ts
 * await sql.begin(async (tx) => {
 *   await identifyCaller(tx, caller);
 *   await logEvent(tx, auditRead({}));
 * });
 * ```
 */
export async function identifyCaller(
  tx: postgres.TransactionSql,
  caller: Pick<Caller, "claims" | "requestId">,
): Promise<void> {
  await callerSettings(tx as unknown as postgres.Sql, caller as CallerContext, { asRole: false });
}
