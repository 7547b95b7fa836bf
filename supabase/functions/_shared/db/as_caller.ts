/**
 * Runs user-scoped queries the way PostgREST does: inside one transaction, `role` switched to the
 * caller's database role and `request.jwt.claims` set to the verified claims, both transaction-local
 * (set_config(..., true)), so RLS enforces ownership even if a query forgets to filter, and nothing
 * leaks to the next transaction on a pooled connection. The request id goes with them
 * (`comptoir.request_id`), for the audit trail's triggers.
 * @module
 */
import type postgres from "postgres";
import type { Caller } from "../auth/caller.ts";

/**
 * Runs `fn` in a transaction as `caller`.
 *
 * @example
 * ```ts
 * const orders = await asCaller(sql, caller, (tx) => tx`select id from public.orders`);
 * ```
 */
export function asCaller<T>(
  sql: postgres.Sql,
  caller: Pick<Caller, "dbRole" | "claims" | "requestId">,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return sql.begin(async (tx) => {
    await becomeCaller(tx, caller);
    return await fn(tx);
  }) as Promise<T>;
}

/**
 * Switches an open transaction to `caller` for the rest of it, after statements that had to run as
 * the connection's own role (functions of the `shop_api` schema, which the API roles cannot use).
 *
 * @example
 * ```ts
 * await sql.begin(async (tx) => {
 *   const [row] = await tx`select order_id from shop_api.place_order(${userId}, ${items})`;
 *   await becomeCaller(tx, caller);
 *   return await tx`select public.order_details(${row.order_id}) as doc`;
 * });
 * ```
 */
export async function becomeCaller(
  tx: postgres.TransactionSql,
  caller: Pick<Caller, "dbRole" | "claims" | "requestId">,
): Promise<void> {
  await tx`select set_config('role', ${caller.dbRole}, true),
                  set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
                  set_config('comptoir.request_id', ${caller.requestId ?? ""}, true)`;
}

/**
 * Names `caller` and its request for the rest of an open transaction without switching role: the
 * audit trail then records who changed what (auth.uid(), auth.role(), comptoir.request_id) for
 * statements that run as the connection's own role, such as the `shop_api` functions.
 *
 * @example
 * ```ts
 * await sql.begin(async (tx) => {
 *   await identifyCaller(tx, caller);
 *   await tx`select order_id from shop_api.place_order(${userId}, ${items})`;
 * });
 * ```
 */
export async function identifyCaller(
  tx: postgres.TransactionSql,
  caller: Pick<Caller, "claims" | "requestId">,
): Promise<void> {
  await tx`select set_config('request.jwt.claims', ${JSON.stringify(caller.claims)}, true),
                  set_config('comptoir.request_id', ${caller.requestId ?? ""}, true)`;
}
