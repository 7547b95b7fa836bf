/**
 * `deno task bench:api`: end-to-end HTTP through the local gateway on the local Postgres at the
 * 1M-order scale. For each hot operation wrk (50 connections) draws varied parameters from lists
 * read out of the database (search words, categories, order ids, product pages), beside the same
 * run's ceiling: the health readiness route (one `select 1`). Operations alternate over rounds so
 * noise hits them alike. Writes docs/benchmarks/api.md. Needs `deno task db:start` and a seeded
 * shop (`deno task seed --scale 1000`), or `--db-url`.
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { runMain, StackError } from "../lib/command.ts";
import { startDevServer } from "../lib/dev_server_process.ts";
import { localApiKeys, localJwtSecret } from "../lib/local_keys.ts";
import { devCluster } from "../lib/pg_cluster.ts";
import { wrk, type WrkResult } from "../lib/wrk.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "db-url": { type: "string" },
      duration: { type: "string", default: "8" },
      rounds: { type: "string", default: "3" },
      connections: { type: "string", default: "50" },
      pool: { type: "string", default: "10" },
    },
  });
  const dbUrl = values["db-url"] ?? devCluster().url();
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);

  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  const [{ orders }] = await sql`select count(*)::int as orders from public.orders`;
  if (orders < 1000) throw new StackError("seed the shop first: deno task seed --scale 1000");
  const words = (await sql`
    select w from (
      select distinct lower(split_part(name, ' ', 1 + (id % 2)::int)) as w
      from public.products where active and id % 97 = 0
    ) t where length(w) >= 3 order by w limit 300`).map((r) => r.w as string);
  const categories = (await sql`select id from public.categories order by id`).map((r) =>
    Number(r.id)
  );
  const [{ max_order }] = await sql`select max(id)::bigint as max_order from public.orders`;
  const productIds = (await sql`
    select id from public.products where active order by id`).map((r) => Number(r.id));
  await sql.end();

  const server = await startDevServer({
    dbUrl,
    quiet: true,
    env: { COMPTOIR_DB_POOL_MAX: values.pool!, COMPTOIR_RATE_LIMIT_BACKEND: "off" },
  });

  const { serviceRole } = await localApiKeys(localJwtSecret());
  const base = `${server.url}/functions/v1`;
  const lua = (paths: string) => `
math.randomseed(20261126)
${paths}
request = function()
  return wrk.format("GET", pick())
end
`;
  const list = (name: string, items: (string | number)[]) =>
    `local ${name} = {${items.map((i) => JSON.stringify(String(i))).join(",")}}`;
  const pages = Array.from({ length: 500 }, (_, i) => {
    const start = (i * 7919) % Math.max(1, productIds.length - 20);
    return productIds.slice(start, start + 20).join(",");
  });
  const operations: Record<string, string> = {
    "ceiling: select 1 (health)": lua(`function pick() return "/functions/v1/health" end`),
    "product search": lua(`${list("words", words.map(encodeURIComponent))}
local sorts = {"relevance", "price", "-price", "name"}
function pick()
  return "/functions/v1/api/v2/products?q=" .. words[math.random(#words)] .. "&sort=" .. sorts[math.random(#sorts)] .. "&limit=20"
end`),
    "category listing": lua(`function pick() return "/functions/v1/api/v2/categories" end`),
    "category products page": lua(`${list("cats", categories)}
function pick() return "/functions/v1/api/v2/categories/" .. cats[math.random(#cats)] .. "/products?limit=20&sort=price" end`),
    "sales dashboard 30 days": lua(
      `function pick() return "/functions/v1/api/v2/dashboard/sales?days=30" end`,
    ),
    "order details": lua(
      `function pick() return "/functions/v1/api/v2/orders/" .. math.random(${max_order}) end`,
    ),
    "inventory (cached)": lua(`${list("pages", pages)}
function pick() return "/functions/v1/api/v2/inventory?product_ids=" .. pages[math.random(#pages)] end`),
  };
  const headers = { authorization: `Bearer ${serviceRole}` };
  const results = new Map<string, WrkResult[]>();
  try {
    for (const script of Object.values(operations)) {
      await wrk(`${base}/health`, {
        connections,
        durationSeconds: 2,
        headers,
        requestScript: script,
      });
    }
    for (let round = 1; round <= rounds; round++) {
      for (const [name, script] of Object.entries(operations)) {
        const r = await wrk(`${base}/health`, {
          connections,
          durationSeconds: duration,
          headers,
          requestScript: script,
        });
        results.set(name, [...results.get(name) ?? [], r]);
        console.log(
          `round ${round} ${name.padEnd(28)} ${r.requestsPerSecond.toFixed(0).padStart(7)} req/s ` +
            `p50 ${r.p50Ms.toFixed(2)} p95 ${r.p95Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} ms` +
            (r.errors > 0 ? ` (${r.errors} non-2xx or socket errors)` : ""),
        );
      }
    }
  } finally {
    await server.stop();
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ceiling = median(
    results.get("ceiling: select 1 (health)")!.map((r) => r.requestsPerSecond),
  );
  const rows = [...results].map(([name, rs]) => {
    const rps = median(rs.map((r) => r.requestsPerSecond));
    return `| ${name} | ${rps.toFixed(0)} | ${(rps / ceiling * 100).toFixed(0)}% | ${
      median(rs.map((r) => r.p50Ms)).toFixed(2)
    } | ${median(rs.map((r) => r.p95Ms)).toFixed(2)} | ${
      median(rs.map((r) => r.p99Ms)).toFixed(2)
    } |`;
  });
  const report = `# Shop API end to end

Produced by \`deno task bench:api\` (scripts/bench/api.ts) on ${
    new Date().toISOString().slice(0, 10)
  }:
the local gateway (\`deno task dev --db-url\`, pool of ${values.pool} connections, rate limiting off)
on the local PostgreSQL 15 with ${orders.toLocaleString("en-US")} orders; wrk with ${connections}
connections and 2 threads, ${rounds} alternating rounds of ${duration} s per operation after a warm-up,
medians over rounds. Every request draws its parameters from lists read from the database
(${words.length} search words, ${categories.length} categories, order ids 1..${max_order}, 500 pages of 20
product ids). Load generator, gateway and Postgres share the same ${navigator.hardwareConcurrency} cores.
Calls use the service-role key (order details of any order, the admin dashboard).

| operation | req/s | of ceiling | p50 ms | p95 ms | p99 ms | errors / requests |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}
`;
  await Deno.writeTextFile(`${ROOT}docs/benchmarks/api.md`, report);
  console.log(`\n${report}\nwritten to docs/benchmarks/api.md`);
});
