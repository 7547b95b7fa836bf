/**
 * Drives the SQL data generator (`demo.*` functions from the demo-generator migration) in chunks,
 * so a progress bar can follow a million orders. The SQL decides every value from (seed, row id),
 * so the result is the same however it is chunked.
 * @module
 */
import type { SqlRunner } from "./sql_runner.ts";

/** Row counts derived from a scale: scale N = N×1,000 orders. */
export interface SeedPlan {
  scale: number;
  seed: number;
  orders: number;
  products: number;
  categories: number;
  customers: number;
  /** Last day of order history (exclusive end, UTC midnight). */
  end: string;
  /** Days of order history. */
  days: number;
}

/** The plan for a scale. */
export function seedPlan(
  scale: number,
  seed = 42,
  end = new Date(new Date().toISOString().slice(0, 10) + "T00:00:00Z").toISOString(),
): SeedPlan {
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new RangeError("scale must be a positive number");
  }
  return {
    scale,
    seed,
    orders: Math.round(scale * 1000),
    products: Math.max(50, Math.round(scale * 100)),
    categories: Math.max(12, Math.round(scale)),
    customers: Math.max(20, Math.round(scale * 100)),
    end,
    days: 365,
  };
}

/** Options of {@linkcode seedDatabase}. */
export interface SeedOptions {
  /** Orders generated per statement. */
  chunk?: number;
  /** Called after each chunk with orders done so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Generates the catalog, customers and orders of `plan` into an empty shop schema.
 *
 * @example
 * ```ts
 * await seedDatabase(db, seedPlan(5));
 * ```
 */
export async function seedDatabase(
  db: SqlRunner,
  plan: SeedPlan,
  { chunk = 50_000, onProgress = () => {} }: SeedOptions = {},
): Promise<void> {
  await db.query("select demo.generate_catalog($1, $2, $3, $4, $5::timestamptz, $6)", [
    plan.seed,
    plan.categories,
    plan.products,
    plan.customers,
    plan.end,
    plan.days,
  ]);
  onProgress(0, plan.orders);
  for (let first = 1; first <= plan.orders; first += chunk) {
    const count = Math.min(chunk, plan.orders - first + 1);
    await db.query("select demo.generate_orders($1, $2, $3, $4::timestamptz, $5, $6)", [
      plan.seed,
      first,
      count,
      plan.end,
      plan.days,
      plan.orders,
    ]);
    onProgress(first + count - 1, plan.orders);
  }
  await db.query("select demo.finish()");
  // The generator writes with triggers off (session_replication_role = replica): the sales
  // rollups never heard of these orders, so they are rebuilt from all of them.
  await db.query("select private.rebuild_sales_rollups()");
}

/** Whether the shop already holds products (then the dev stack does not seed again). */
export async function hasShopData(db: SqlRunner): Promise<boolean> {
  const [row] = await db.query<{ seeded: boolean }>(
    "select exists (select 1 from public.products) as seeded",
  );
  return row.seeded;
}

/** A one-line progress bar for a terminal. */
export function progressBar(done: number, total: number, started: number, width = 30): string {
  const ratio = total === 0 ? 1 : done / total;
  const filled = Math.round(ratio * width);
  const elapsed = (performance.now() - started) / 1000;
  const rate = elapsed > 0 ? Math.round(done / elapsed) : 0;
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(ratio * 100).toFixed(0)}% ` +
    `${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")} orders ` +
    `${elapsed.toFixed(1)} s ${rate.toLocaleString("en-US")} orders/s`;
}
