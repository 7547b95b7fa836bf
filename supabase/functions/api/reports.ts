/**
 * Inventory levels (read live: public.inventory_levels) and the admin sales dashboard and top
 * products (from the materialized views).
 *
 * Stock is read live rather than through the UNLOGGED cache of shop_api.inventory_levels_cached:
 * a warm cache hit measured 0.66 ms at p50 against 0.57 ms for the live read (the database
 * benchmark, docs/benchmarks/database.md), and the cache writes on a GET. A live read is also
 * never stale.
 * @module
 */
import type { Sql } from "../_shared/db/client.ts";
import { asCaller } from "../_shared/db/as_caller.ts";
import { int8Array, textArray } from "../_shared/db/params.ts";
import type { Caller } from "../_shared/auth/caller.ts";

/** Live stock of active products named by id or SKU. */
export async function inventoryLevels(
  sql: Sql,
  { product_ids, skus }: { product_ids?: number[]; skus?: string[] },
) {
  return await sql`
    select product_id, sku, on_hand, reserved, available, updated_at
    from public.inventory_levels(${int8Array(sql, product_ids)}, ${textArray(sql, skus)})
    order by product_id`;
}

/** The sales dashboard for the last `days` days (admins and the service role). */
export async function salesDashboard(sql: Sql, caller: Caller, days: number) {
  const [{ doc }] = await asCaller(
    sql,
    caller,
    (q) => q`select public.sales_dashboard(${days}) as doc`,
  );
  return doc as Record<string, unknown>;
}

/** The `limit` best sellers of the last `days` days (admins and the service role). */
export async function topProducts(sql: Sql, caller: Caller, days: number, limit: number) {
  const [{ doc }] = await asCaller(
    sql,
    caller,
    (q) => q`select public.top_products(${days}, ${limit}) as doc`,
  );
  return doc as unknown[];
}
