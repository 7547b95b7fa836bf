import assert from "node:assert/strict";
import postgres from "postgres";
import { startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import { DB_SLEEP_HEADER } from "../../supabase/functions/_shared/metrics/fault_switch.ts";
import { MONITORED_ENV, scrape, valueOf, waitFor } from "./_support.ts";

type Scrape = Awaited<ReturnType<typeof scrape>>;

Deno.test("API traffic records statements and pool use; the shared cache tier reaches the scrape", async () => {
  const url = testDatabaseUrl();
  const server = await startDevServer({ dbUrl: url, env: MONITORED_ENV });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [product] = await sql`
      insert into public.products (sku, name, price_cents, currency)
      values (${`DBM-${Date.now()}`}, 'Database metrics probe', 900, 'EUR') returning id`;
    await sql`insert into public.inventory (product_id, on_hand) values (${product.id}, 5)`;
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${server.url}/functions/v1/api/v1${path}`, {
        headers: { authorization: `Bearer ${server.anonKey}`, ...headers },
      });
      await res.body?.cancel();
      return res.status;
    };

    const before = await scrape(server.url);
    const delta = (after: Scrape, name: string, labels = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    assert.equal(await get(`/inventory?product_ids=${product.id}`), 200);
    assert.equal(await get(`/inventory?product_ids=${product.id}`), 200);
    assert.equal(await get("/categories"), 200);
    // The api reads inventory live (docs/benchmarks/api.md); the UNLOGGED shared tier is called
    // from SQL: its first lookup misses and fills it, the second is a hit, and the metrics
    // function's scrape reads its counters.
    await sql`select * from shop_api.inventory_levels_cached(${[product.id]}::bigint[], null)`;
    await sql`select * from shop_api.inventory_levels_cached(${[product.id]}::bigint[], null)`;

    const after = await waitFor("statement, pool and cache metrics", async () => {
      const now = await scrape(server.url);
      const ok = delta(now, "comptoir_db_query_duration_seconds_count", { operation: "select" }) >=
          3 &&
        delta(now, "comptoir_cache_misses_total", { cache: "inventory" }) >= 1 &&
        delta(now, "comptoir_cache_hits_total", { cache: "inventory", tier: "shared" }) >= 1;
      return ok ? now : undefined;
    });
    // Summed over every process that flushed in the last 60 s: other dev servers of the suite
    // share the test database's store.
    const max = valueOf(after, "comptoir_db_pool_connections_max");
    assert.ok(max >= 3, `pool max ${max}`);
    assert.ok(valueOf(after, "comptoir_db_pool_connections_in_use") <= max);
    assert.equal(after.has("comptoir_db_pool_connections_waiting"), true);

    // The injected fault makes the request's statements slow for real.
    const slowBefore = valueOf(after, "comptoir_db_query_duration_seconds_bucket", {
      operation: "select",
      le: "0.25",
    });
    const countBefore = valueOf(after, "comptoir_db_query_duration_seconds_count", {
      operation: "select",
    });
    assert.equal(await get("/categories", { [DB_SLEEP_HEADER]: "300" }), 200);
    await waitFor("a statement slower than 0.25 s", async () => {
      const now = await scrape(server.url);
      const count = valueOf(now, "comptoir_db_query_duration_seconds_count", {
        operation: "select",
      });
      const fast = valueOf(now, "comptoir_db_query_duration_seconds_bucket", {
        operation: "select",
        le: "0.25",
      });
      // Statements counted since, minus those under 0.25 s: at least the slow one.
      return count - countBefore - (fast - slowBefore) >= 1 ? true : undefined;
    });
  } finally {
    await sql.end();
    await server.stop();
  }
});
