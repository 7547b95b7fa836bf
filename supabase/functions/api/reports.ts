/**
 * Inventory levels (through the UNLOGGED cache, in shop_api: only the API may fill it) and the admin
 * sales dashboard (from the materialized views).
 * @module
 */
import type { Sql } from "../_shared/db/client.ts";
import { asCaller } from "../_shared/db/as_caller.ts";
import type { Caller } from "../_shared/auth/caller.ts";

/** Stock of active products named by id or SKU, read through the cache. */
export async function inventoryLevels(
  sql: Sql,
  { product_ids, skus }: { product_ids?: number[]; skus?: string[] },
) {
  return await sql`
    select product_id, sku, on_hand, reserved, available, updated_at
    from shop_api.inventory_levels_cached(${product_ids ?? null}::bigint[], ${skus ?? null}::text[])
    order by product_id`;
}

/** The sales dashboard for the last `days` days (admins and the service role). */
export async function salesDashboard(sql: Sql, caller: Caller, days: number) {
  const [{ doc }] = await asCaller(
    sql,
    caller,
    (tx) => tx`select public.sales_dashboard(${days}) as doc`,
  );
  return doc as Record<string, unknown>;
}
