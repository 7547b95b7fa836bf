/**
 * Inventory levels (through the UNLOGGED cache, in shop_api: only the API may fill it) and the admin
 * sales dashboard (from the materialized views), each read of which is audited.
 * @module
 */
import type { Sql } from "../_shared/db/client.ts";
import { becomeCaller, identifyCaller } from "../_shared/db/as_caller.ts";
import { dashboardRead } from "../_shared/audit/events.ts";
import { logEvent } from "../_shared/audit/log_event.ts";
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

/**
 * The sales dashboard for the last `days` days (admins and the service role), recorded in the
 * audit trail as a `dashboard.read` of `report` in the same transaction.
 */
export async function salesDashboard(
  sql: Sql,
  caller: Caller,
  days: number,
  report: "sales" | "top-products" = "sales",
) {
  const [{ doc }] = await sql.begin(async (tx) => {
    await identifyCaller(tx, caller);
    await logEvent(tx, dashboardRead(report, { days }));
    await becomeCaller(tx, caller);
    return await tx`select public.sales_dashboard(${days}) as doc`;
  });
  return doc as Record<string, unknown>;
}
