/**
 * `deno task bench:db [--db-url URL] [--scale 1000]`: the five hot operations on the base schema
 * against the same operations with the performance layer, at a million orders by default, in one
 * run: server-side p50 / p95 / max over varied calls, speedup, plans, result equality, cache
 * throughput with concurrent clients against a plain logged table, and materialized view refresh
 * durations. Creates (or reuses) its two databases on the server at `--db-url` (default: the local
 * cluster, started if needed), prints the figures and writes docs/benchmarks/database.md + .svg.
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { runMain, StackError } from "../../lib/command.ts";
import { devCluster } from "../../lib/pg_cluster.ts";
import { measureThroughput, prepareStores } from "./cache_throughput.ts";
import { ensureBenchDatabases } from "./databases.ts";
import { capturePlans } from "./plans.ts";
import {
  type BenchReport,
  type ExtraResult,
  gain,
  type OperationResult,
  renderMarkdown,
  renderSvg,
  type Target,
} from "./report.ts";
import { installHarness, resultOf, summarize, timeCall, timeCalls } from "./timing.ts";
import { buildWorkload, cachedInventory, type Call } from "./workload.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

/** The issue's targets: p95 on 2 cores, and the gains the project's seed claims. */
const TARGETS: Record<string, Target> = {
  search: {
    p95Ms: 10,
    gainPct: 87,
    whenMissed: "Broad words match thousands of products, and ranking by relevance must read " +
      "each match's text vector from the table: the GIN index finds them, but the heap visits " +
      "and ts_rank grow with the number of matches.",
  },
  categoryList: {
    p95Ms: 2,
    gainPct: 90,
    whenMissed: "Listing a thousand categories renders a thousand rows whatever serves the counts.",
  },
  categoryPage: {
    p95Ms: 2,
    gainPct: 90,
    whenMissed: "A page is read in sort order from the sort key's index, skipping products of " +
      "other categories or prices inside the index; when few products qualify (a small " +
      "category with a price range, out of stock only) many index entries are skipped per row " +
      "kept, and the stock filter costs a primary-key probe per candidate.",
  },
  dashboard: {
    p95Ms: 2,
    gainPct: 95,
    whenMissed: "The dashboard document of a standard window is one row of the materialized view.",
  },
  orderDetails: {
    p95Ms: 2,
    gainPct: 88,
    whenMissed: "The base schema already serves every lookup of an order from a primary key " +
      "(order, its lines by order_items_pkey, each product, the customer): there is no scan to " +
      "remove, and what remains is planning, RLS checks and building the JSON, which both " +
      "databases do alike.",
  },
  inventory: {
    p95Ms: 2,
    gainPct: 97,
    whenMissed: "The base schema answers stock by primary key (products and inventory, SKUs by " +
      "the unique SKU index), which costs about as much as looking the same keys up in the " +
      "cache; the cache earns its keep on values that are expensive to compute, not on single-row " +
      "reads, and its purpose here is staying exact under invalidation.",
  },
};

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "db-url": { type: "string" },
      scale: { type: "string", default: "1000" },
      seed: { type: "string", default: "42" },
      samples: { type: "string", default: "300" },
      clients: { type: "string", default: "1,8,32" },
      seconds: { type: "string", default: "5" },
      refreshes: { type: "string", default: "3" },
      rounds: { type: "string", default: "3" },
      out: { type: "string", default: "docs/benchmarks/database.md" },
      regenerate: { type: "boolean", default: false },
      recopy: { type: "boolean", default: false },
    },
  });
  const scale = Number(values.scale);
  const samples = Number(values.samples);
  if (!Number.isInteger(scale) || scale < 1) {
    throw new StackError("--scale must be a positive integer");
  }
  if (!Number.isInteger(samples) || samples < 20) {
    throw new StackError("--samples must be 20 or more");
  }
  const clients = values.clients.split(",").map(Number);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new StackError("--rounds must be 1 or more");

  let serverUrl = values["db-url"] ?? Deno.env.get("DATABASE_URL");
  if (!serverUrl) {
    const cluster = devCluster();
    if ((await cluster.start()) === "started") console.log(`started postgres on ${cluster.url()}`);
    serverUrl = cluster.url();
  }
  const log = (line: string) => console.log(line);
  const loadAverages: number[] = [];
  const sampleLoad = async () => {
    const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
    const one = Number(text.split(" ")[0]);
    if (Number.isFinite(one) && text) loadAverages.push(one);
  };
  const loadTimer = setInterval(sampleLoad, 5000);

  const dbs = await ensureBenchDatabases(serverUrl, {
    scale,
    seed: Number(values.seed),
    regenerate: values.regenerate,
    recopy: values.recopy,
    log,
  });
  const base = postgres(dbs.baseUrl, { max: 1, onnotice: () => {} });
  const opt = postgres(dbs.optUrl, { max: 1, onnotice: () => {} });
  try {
    await installHarness(base);
    await installHarness(opt);

    log("refreshing the materialized views");
    const refreshes: BenchReport["refreshes"] = [];
    for (
      const view of [
        "sales_summary_daily",
        "products_stats",
        "top_products_hourly",
        "sales_dashboard_realtime",
      ]
    ) {
      const runs: number[] = [];
      let rows = 0;
      for (let i = 0; i < Number(values.refreshes); i++) {
        const [r] = await opt<
          { duration_ms: string; rows: string; outcome: string; error: string }[]
        >`
          select duration_ms, rows, outcome, error from private.refresh_materialized_view(${view})`;
        if (r.outcome !== "succeeded") throw new StackError(`refresh of ${view}: ${r.error}`);
        runs.push(Number(r.duration_ms));
        rows = Number(r.rows);
      }
      log(`  ${view}: ${runs.map((v) => v.toFixed(0)).join(", ")} ms (${rows} rows)`);
      refreshes.push({ view, rows, runs });
    }

    const [counts] = await opt<Record<string, string>[]>`
      select (select count(*) from public.orders) as orders,
        (select count(*) from public.order_items) as order_items,
        (select count(*) from public.products) as products,
        (select count(*) from public.categories) as categories,
        (select count(*) from public.customers) as customers`;

    log("drawing the calls");
    const workload = await buildWorkload(opt, { seed: 7, samples });
    const operations: OperationResult[] = [];
    const extras: ExtraResult[] = [];

    const measure = async (
      key: string,
      name: string,
      description: string,
      baseCalls: Call[],
      optCalls: Call[],
      baseLimit = baseCalls.length,
    ) => {
      log(`${name}: ${optCalls.length} calls`);
      const compareCount = Math.min(25, baseCalls.length);
      let differing = 0;
      for (let i = 0; i < compareCount; i++) {
        const [a, b] = [await resultOf(base, baseCalls[i]), await resultOf(opt, optCalls[i])];
        if (normalize(a) !== normalize(b)) differing++;
      }
      const basePlans = await capturePlans(dbs.baseUrl, baseCalls[0]);
      const optimizedPlans = await capturePlans(dbs.optUrl, optCalls[0]);
      const warm = Math.min(20, baseCalls.length);
      await timeCalls(base, baseCalls.slice(0, warm));
      await timeCalls(opt, optCalls.slice(0, warm));
      // Each call runs `rounds` times, alternating base and optimised calls, so that load from
      // elsewhere on the machine hits both alike. A call's figure is the fastest of its runs:
      // its own cost, with the moments the machine was busy with other processes filtered out.
      const baseRuns: number[][] = baseCalls.slice(0, baseLimit).map(() => []);
      const optRuns: number[][] = optCalls.map(() => []);
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < optCalls.length; i++) {
          if (i < baseLimit) baseRuns[i].push(await timeCall(base, baseCalls[i]));
          optRuns[i].push(await timeCall(opt, optCalls[i]));
        }
      }
      const baseTimes = baseRuns.map((runs) => Math.min(...runs));
      const optTimes = optRuns.map((runs) => Math.min(...runs));
      const op: OperationResult = {
        name,
        description,
        base: summarize(baseTimes),
        optimized: summarize(optTimes),
        optimizedEveryRun: summarize(optRuns.flat()),
        target: TARGETS[key],
        basePlans,
        optimizedPlans,
        compared: compareCount,
        differing,
      };
      const g = gain(op.base, op.optimized);
      log(
        `  base p50 ${op.base.p50.toFixed(2)} p95 ${op.base.p95.toFixed(2)} max ${
          op.base.max.toFixed(2)
        } | optimised p50 ${op.optimized.p50.toFixed(2)} p95 ${op.optimized.p95.toFixed(2)} max ${
          op.optimized.max.toFixed(2)
        } ms | ${g.speedup.toFixed(1)}x, ${g.gainPct.toFixed(1)} % saved (p50), ${
          g.gainP95Pct.toFixed(1)
        } % (p95) | ${differing === 0 ? "results identical" : `${differing} results differ`}`,
      );
      operations.push(op);
    };

    await measure(
      "search",
      "product search",
      "`search_products(p_query, ...)`: one to three words, word beginnings, SKUs and SKU " +
        "prefixes, a few words that match nothing; a quarter with a category (and its " +
        "descendants), a quarter with a price range, a fifth in stock only; sorted by relevance " +
        "mostly, else by price, name or newest; 20 or 50 rows; some second pages by cursor.",
      workload.search,
      workload.search,
    );
    await measure(
      "categoryList",
      "category listing: counts",
      "`list_categories()`: every category with the count and price range of its active " +
        "products (1,000 rows).",
      workload.categoryList,
      workload.categoryList,
    );
    await measure(
      "categoryPage",
      "category listing: products page",
      "`search_products(null, p_category_id, ...)`: a category's page (its descendants' " +
        "products included), leaf, middle or top-level categories, any sort, some with a price " +
        "range or in stock only, some second pages.",
      workload.categoryPage,
      workload.categoryPage,
    );
    await measure(
      "dashboard",
      "sales dashboard",
      "`sales_dashboard(p_days)` for 1, 7 and 30 days as an admin: live aggregation over orders " +
        "and lines on the base, the precomputed document of sales_dashboard_realtime optimised.",
      workload.dashboard,
      workload.dashboard,
      Math.min(15, workload.dashboard.length),
    );
    await measure(
      "orderDetails",
      "order details",
      "`order_details(id)` of random orders, each called as its own customer (RLS applies).",
      workload.orderDetails,
      workload.orderDetails,
    );

    log("real-time inventory");
    await opt`delete from private.cache_entries where key like 'inventory:%'`;
    const cached = cachedInventory(workload.inventory);
    const cold = summarize(await timeCalls(opt, cached));
    // A cache table created by the migrations has no statistics until autovacuum analyzes it
    // (within a minute of the first fills in a running database); without them the planner
    // takes it for empty and scans it instead of probing its primary key.
    await opt`analyze private.cache_entries`;
    // Measured right after the fill, as a hot key is read: within the 30 s recency interval a hit
    // writes nothing. The touch costs are measured separately below.
    await measure(
      "inventory",
      "real-time inventory",
      "`inventory_levels(ids | skus)` on the base against `shop_api.inventory_levels_cached(...)` " +
        "(warm) optimised: pages of 20 to 50 random products, by id or by SKU, as anon on the " +
        "base and as the API's role through the cache.",
      workload.inventory,
      cached,
    );
    extras.push({
      name: "real-time inventory, cache cold",
      description: "inventory_levels_cached, first pass: every product a miss, filled",
      stats: cold,
    });
    await opt`update private.cache_entries set accessed_at = accessed_at - interval '1 hour'
      where key like 'inventory:%'`;
    extras.push({
      name: "real-time inventory, cache warm, every hit refreshing recency",
      description: "inventory_levels_cached when each key's last touch is older than 30 s: " +
        "hits plus one recency write per key",
      stats: summarize(await timeCalls(opt, cached)),
    });
    extras.push({
      name: "real-time inventory, live on the optimised database",
      description: "inventory_levels without the cache",
      stats: summarize(await timeCalls(opt, workload.inventory)),
    });

    extras.push({
      name: "sales dashboard, other windows",
      description: "14, 60 and 90 days: not precomputed, computed live on the optimised database",
      stats: summarize(await timeCalls(opt, workload.dashboardOtherWindows)),
    });

    log(`cache throughput (${seconds} s per run)`);
    await prepareStores(opt);
    const throughput = await measureThroughput(dbs.optUrl, clients, seconds, log);

    const [sizes] = await opt<{ base: string; optimized: string }[]>`
      select pg_database_size(${new URL(dbs.baseUrl).pathname.slice(1)}) as base,
        pg_database_size(current_database()) as optimized`;
    const added = await opt<{ name: string; bytes: string }[]>`
      select n.nspname || '.' || c.relname as name, pg_total_relation_size(c.oid) as bytes
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where (c.relkind = 'i' and c.relname in ('products_search_vector_idx',
          'products_category_id_price_cents_idx', 'products_price_cents_idx', 'products_name_idx',
          'products_created_at_idx', 'orders_placed_at_revenue_idx', 'orders_placed_at_open_idx',
          'order_items_order_id_covering_idx'))
        or (c.relkind in ('m', 'r') and n.nspname = 'private' and c.relname in (
          'sales_summary_daily', 'top_products_hourly', 'sales_dashboard_realtime',
          'products_stats', 'category_product_stats', 'cache_entries'))
      order by 2 desc`;

    const [{ version }] = await opt<{ version: string }[]>`select version()`;
    const report: BenchReport = {
      date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
      machine: `${navigator.hardwareConcurrency} CPU cores, ${Deno.build.os}`,
      load: loadAverages,
      postgres: version.split(" on ")[0],
      data: dbs.data,
      counts: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, Number(v)])),
      sizes: {
        base: Number(sizes.base),
        optimized: Number(sizes.optimized),
        added: added.map((a) => ({ name: a.name, bytes: Number(a.bytes) })),
      },
      operations,
      extras,
      throughput,
      throughputSeconds: seconds,
      refreshes,
      migrations: dbs.migrations,
      rounds,
      command: `deno task bench:db --scale ${scale} --samples ${samples} --rounds ${rounds}`,
    };
    const out = values.out.startsWith("/") ? values.out : ROOT + values.out;
    const svg = out.replace(/\.md$/, ".svg");
    await Deno.writeTextFile(out, renderMarkdown(report, svg.split("/").pop()!));
    await Deno.writeTextFile(svg, renderSvg(report));
    log(`wrote ${out} and ${svg}`);
  } finally {
    clearInterval(loadTimer);
    await base.end({ timeout: 5 });
    await opt.end({ timeout: 5 });
  }
});

/** A result without the moment it was computed at (the dashboard's as_of). */
function normalize(result: string): string {
  return result.replace(/"as_of"\s*:\s*"[^"]*"/g, '"as_of":""');
}
