/**
 * The calls the database benchmark times: for each hot operation, many calls with varied
 * parameters drawn by a seeded generator from the data itself (words of product names, category
 * ids by depth, SKUs, orders with their customers), so both databases get the same calls.
 * @module
 */
import type postgres from "postgres";

/** One timed call: SQL that runs the operation, and the role and JWT claims it runs under. */
export interface Call {
  /** A self-contained statement (literals inlined) calling one shop function. */
  sql: string;
  role: "anon" | "authenticated" | "service_role";
  claims: Record<string, unknown>;
  /** Short description for reports. */
  label: string;
}

/** The operations and their calls. */
export interface Workload {
  search: Call[];
  categoryList: Call[];
  categoryPage: Call[];
  dashboard: Call[];
  dashboardOtherWindows: Call[];
  orderDetails: Call[];
  inventory: Call[];
}

/** Options of {@linkcode buildWorkload}. */
export interface WorkloadOptions {
  /** Seed of the parameter generator. */
  seed?: number;
  /** Calls per operation (the dashboard gets a third, spread over its windows). */
  samples?: number;
}

/** A small deterministic generator (mulberry32): same seed, same calls. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** SQL string literal. */
export function literal(value: string | null): string {
  return value === null ? "null" : `'${value.replaceAll("'", "''")}'`;
}

const ANON = { role: "anon" as const, claims: { role: "anon" } };
const ADMIN = {
  role: "authenticated" as const,
  claims: {
    sub: "00000000-0000-4000-8000-00000000be0c",
    role: "authenticated",
    app_metadata: { role: "admin" },
  },
};

/**
 * Draws the benchmark's calls from the data of `sql`'s database.
 *
 * @example
 * ```ts
 * const workload = await buildWorkload(sql, { seed: 7, samples: 300 });
 * ```
 */
export async function buildWorkload(
  sql: postgres.Sql,
  { seed = 7, samples = 300 }: WorkloadOptions = {},
): Promise<Workload> {
  const next = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
  const chance = (p: number) => next() < p;

  const words = (await sql<{ word: string }[]>`
    select distinct w as word
    from (select id, name from public.products order by id limit 20000) p,
      unnest(string_to_array(lower(p.name), ' ')) w
    order by 1`).map((r) => r.word);
  const names = (await sql<{ name: string }[]>`
    select name from public.products where active order by id limit 5000`).map((r) => r.name);
  const [{ max_product: maxProduct, max_order: maxOrder }] = await sql<
    { max_product: number; max_order: number }[]
  >`select (select max(id) from public.products)::int as max_product,
      (select max(id) from public.orders)::int as max_order`;
  const categories = await sql<{ id: number; depth: number }[]>`
    with recursive t as (
      select c.id, 0 as depth from public.categories c where c.parent_id is null
      union all
      select c.id, t.depth + 1 from public.categories c join t on c.parent_id = t.id
    )
    select id::int, depth from t order by id`;
  const maxDepth = Math.max(...categories.map((c) => c.depth));
  const byDepth = (depth: number) => categories.filter((c) => c.depth === depth).map((c) => c.id);
  const leaves = byDepth(maxDepth);
  const middle = maxDepth > 1 ? byDepth(1) : leaves;
  const roots = byDepth(0);
  const category = () => {
    const u = next();
    return u < 0.7 ? pick(leaves) : u < 0.95 ? pick(middle) : pick(roots);
  };

  const productIds = Array.from({ length: samples * 2 }, () => 1 + Math.floor(next() * maxProduct));
  const skus = new Map(
    (await sql<{ id: number; sku: string }[]>`
      select id::int, sku from public.products where id = any (${productIds})`).map((r) => [
      r.id,
      r.sku,
    ]),
  );
  const sku = () => skus.get(pick(productIds)) ?? "XXX-000001";

  const priceRange = (): [number | null, number | null] => {
    const low = 100 * Math.floor(next() * 100);
    return chance(0.5) ? [low, low + 100 * (20 + Math.floor(next() * 200))] : [null, low + 2000];
  };
  const sorts = ["relevance", "price", "-price", "name", "-name", "newest"];

  const searchText = (): string => {
    const u = next();
    if (u < 0.3) return pick(words);
    if (u < 0.55) return pick(names).split(" ").slice(1).join(" ");
    if (u < 0.65) return pick(names);
    if (u < 0.75) {
      const word = pick(words);
      return word.slice(0, 3 + Math.floor(next() * Math.max(1, word.length - 3)));
    }
    if (u < 0.85) return sku();
    if (u < 0.9) return sku().slice(0, 7);
    if (u < 0.95) return `${pick(words)} ${pick(words)}`;
    return `zz${Math.floor(next() * 1e6).toString(36)}`;
  };

  const searchCall = (query: string | null, categoryId: number | null, label: string): Call => {
    const [min, max] = chance(0.25) ? priceRange() : [null, null];
    const inStock = chance(0.2) ? "true" : chance(0.05) ? "false" : "null";
    const sort = query === null ? pick(sorts) : chance(0.6) ? "relevance" : pick(sorts.slice(1));
    const limit = chance(0.8) ? 20 : 50;
    const args = [
      literal(query),
      categoryId ?? "null",
      min ?? "null",
      max ?? "null",
      inStock,
      literal(sort),
      limit,
    ].join(", ");
    // A later page: the cursor of the first page's last row, read inside the timed statement
    // would cost the first page too, so it is looked up once here and inlined.
    const page = chance(0.15) ? 2 : 1;
    return {
      sql: `select * from public.search_products(${args}, {{after:${page}}})`,
      ...ANON,
      label,
    };
  };

  const search = Array.from(
    { length: samples },
    () => searchCall(searchText(), chance(0.25) ? category() : null, "search"),
  );
  const categoryPage = Array.from(
    { length: samples },
    () => searchCall(null, category(), "category page"),
  );
  await resolveCursors(sql, [...search, ...categoryPage]);

  const categoryList = Array.from({ length: Math.max(50, Math.floor(samples / 3)) }, () => ({
    sql: "select * from public.list_categories()",
    ...ANON,
    label: "category list",
  }));

  const windows = [1, 7, 30];
  const dashboard = Array.from({ length: Math.max(30, Math.floor(samples / 3)) }, (_, i) => ({
    sql: `select public.sales_dashboard(${windows[i % windows.length]})`,
    ...ADMIN,
    label: "dashboard",
  }));
  const dashboardOtherWindows = [14, 60, 90].flatMap((days) =>
    Array.from({ length: 3 }, () => ({
      sql: `select public.sales_dashboard(${days})`,
      ...ADMIN,
      label: "dashboard, other window",
    }))
  );

  const orderIds = Array.from({ length: samples }, () => 1 + Math.floor(next() * maxOrder));
  const owners = new Map(
    (await sql<{ id: number; customer_id: string }[]>`
      select id::int, customer_id::text from public.orders where id = any (${orderIds})`).map(
      (r) => [r.id, r.customer_id],
    ),
  );
  const orderDetails = orderIds.filter((id) => owners.has(id)).map((id) => ({
    sql: `select public.order_details(${id})`,
    role: "authenticated" as const,
    claims: { sub: owners.get(id), role: "authenticated" },
    label: "order details",
  }));

  const inventory = Array.from({ length: samples }, () => {
    const size = 20 + Math.floor(next() * 31);
    const ids = Array.from({ length: size }, () => 1 + Math.floor(next() * maxProduct));
    const bySku = chance(0.3);
    const args = bySku
      ? `null, array[${ids.map((id) => literal(skus.get(id) ?? sku())).join(", ")}]`
      : `array[${ids.join(", ")}]::bigint[], null`;
    return { sql: `select * from public.inventory_levels(${args})`, ...ANON, label: "inventory" };
  });

  return {
    search,
    categoryList,
    categoryPage,
    dashboard,
    dashboardOtherWindows,
    orderDetails,
    inventory,
  };
}

/**
 * The same inventory calls through the cache, as the API makes them: shop_api is not usable by
 * anon, so they run as the service role (the API runs them as its connection's role).
 */
export function cachedInventory(calls: Call[]): Call[] {
  return calls.map((c) => ({
    ...c,
    sql: c.sql.replace("public.inventory_levels(", "shop_api.inventory_levels_cached("),
    role: "service_role",
    claims: { role: "service_role" },
    label: "inventory, cached",
  }));
}

/** Replaces each `{{after:N}}` with the cursor of the last row of page N - 1 (null for page 1). */
async function resolveCursors(sql: postgres.Sql, calls: Call[]): Promise<void> {
  for (const call of calls) {
    const match = /\{\{after:(\d)\}\}/.exec(call.sql);
    if (!match) continue;
    let after = "null";
    if (match[1] !== "1") {
      const first = call.sql.replace(match[0], "null");
      const rows = await sql.unsafe<{ cursor: unknown }[]>(first);
      if (rows.length > 0) {
        after = `${literal(JSON.stringify(rows[rows.length - 1].cursor))}::jsonb`;
      }
    }
    call.sql = call.sql.replace(match[0], after);
    if (after !== "null") call.label += ", page 2";
  }
}
