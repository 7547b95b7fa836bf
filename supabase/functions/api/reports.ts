/**
 * Inventory levels (read live: public.inventory_levels) and the admin sales dashboard and top
 * products (from the daily rollups), each dashboard read recorded in the audit trail.
 *
 * Stock is read live rather than through the UNLOGGED cache of shop_api.inventory_levels_cached:
 * a warm cache hit measured 0.66 ms at p50 against 0.57 ms for the live read (the database
 * benchmark, docs/benchmarks/database.md), and the cache writes on a GET. A live read is also
 * never stale.
 * @module
 */
import type postgres from "postgres";
import type { Sql } from "../_shared/db/client.ts";
import { callerSettings } from "../_shared/db/as_caller.ts";
import { dashboardRead } from "../_shared/audit/events.ts";
import { logEventStatement } from "../_shared/audit/log_event.ts";
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

/**
 * Runs the report `query` as `caller`, recorded in the audit trail as a `dashboard.read` of
 * `report` in the same implicit transaction: one batch, one round trip (the event is written as
 * the connection's role, which may call audit.log_event; the report then runs as the caller).
 */
async function auditedReport(
  sql: Sql,
  caller: Caller,
  report: "sales" | "top-products",
  details: Record<string, unknown>,
  query: postgres.PendingQuery<postgres.Row[]>,
) {
  const [, , , [{ doc }]] = await sql.batch(
    [
      callerSettings(sql, caller, { asRole: false }),
      logEventStatement(sql, dashboardRead(report, details)),
      callerSettings(sql, caller),
      query,
    ] as const,
  );
  return doc;
}

/** The sales dashboard for the last `days` days (admins and the service role), audited. */
export async function salesDashboard(sql: Sql, caller: Caller, days: number) {
  const doc = await auditedReport(
    sql,
    caller,
    "sales",
    { days },
    sql`
    select public.sales_dashboard(${days}) as doc`,
  );
  return doc as Record<string, unknown>;
}

/** The `limit` best sellers of the last `days` days (admins and the service role), audited. */
export async function topProducts(sql: Sql, caller: Caller, days: number, limit: number) {
  const doc = await auditedReport(
    sql,
    caller,
    "top-products",
    { days, limit },
    sql`
    select public.top_products(${days}, ${limit}) as doc`,
  );
  return doc as unknown[];
}
