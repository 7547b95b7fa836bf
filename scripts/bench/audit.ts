/**
 * `deno task bench:audit`: what the audit trail costs and how fast its chain verifies. In one run,
 * on a throwaway database of the cluster (created with every migration, dropped at the end):
 *
 * 1. `shop_api.place_order` throughput with tracking on and off (audit.enable_tracking /
 *    disable_tracking of every tracked table), in alternating rounds so the machine's noise hits
 *    both alike; each order in its own transaction with the caller's claims and a request id, the
 *    way the API places it. Target: at most 15 % slower with tracking on.
 * 2. One UPDATE of 100,000 tracked rows (inventory), with tracking on and off: audited row changes
 *    per second. Target: at least 10,000/s.
 * 3. `audit.seal()` over everything written, then `audit.verify()` over the whole chain: rows
 *    per second. Target (verify): at least 100,000/s.
 *
 * Writes docs/benchmarks/audit.md. Needs a PostgreSQL 15: `--db-url URL` (a database of the
 * cluster the bench may create databases in), or the local cluster (`deno task db:start`).
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { runMain } from "../lib/command.ts";
import { applyCompat, migrateUrl } from "../lib/migrate.ts";
import { devCluster } from "../lib/pg_cluster.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const REPORT = `${ROOT}docs/benchmarks/audit.md`;
const BENCH_DB = "comptoir_bench_audit";

interface Round {
  mode: "on" | "off";
  orders: number;
  seconds: number;
}

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "db-url": { type: "string" },
      rounds: { type: "string", default: "6" },
      duration: { type: "string", default: "5" },
      clients: { type: "string", default: "4" },
      rows: { type: "string", default: "100000" },
    },
  });
  const rounds = Number(values.rounds);
  const duration = Number(values.duration);
  const clients = Number(values.clients);
  const rows = Number(values.rows);
  const baseUrl = values["db-url"] ?? devCluster().url();
  const url = withDatabase(baseUrl, BENCH_DB);

  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${BENCH_DB}`);
  await admin.unsafe(`create database ${BENCH_DB}`);
  try {
    await applyCompat(url);
    await migrateUrl(url, { log: () => {} });
    const sql = postgres(url, { max: clients + 1, prepare: false, onnotice: () => {} });
    try {
      const fixtures = await setUpFixtures(sql, rows);
      console.log(`fixtures: ${fixtures.customers.length} customers, ${rows} products`);
      const config = await sql<
        { relid: string; redact: string[]; hash: string[]; exclude: string[] }[]
      >`
        select relid::regclass::text as relid, redacted_columns as redact,
          hashed_columns as hash, excluded_columns as exclude
        from audit.tracked_tables`;
      const setTracking = async (on: boolean) => {
        for (const t of config) {
          if (on) {
            await sql`select audit.enable_tracking(${t.relid}::regclass, ${t.redact}, ${t.hash},
              ${t.exclude})`;
          } else {
            await sql`select audit.disable_tracking(${t.relid}::regclass)`;
          }
        }
      };

      // 1. Order placement, alternating.
      const warmUp = await placeOrders(sql, fixtures, clients, 2); // tracking on
      const placement: Round[] = [];
      for (let round = 0; round < rounds; round++) {
        for (const mode of round % 2 === 0 ? ["on", "off"] as const : ["off", "on"] as const) {
          await setTracking(mode === "on");
          const result = await placeOrders(sql, fixtures, clients, duration);
          placement.push({ mode, ...result });
          console.log(
            `round ${round + 1} ${mode}: ${(result.orders / result.seconds).toFixed(0)} orders/s`,
          );
        }
      }
      await setTracking(true);
      const ordersTracked = warmUp.orders +
        placement.filter((p) => p.mode === "on").reduce((sum, p) => sum + p.orders, 0);
      const [{ placementRows }] = await sql<{ placementRows: number }[]>`
        select count(*)::int as "placementRows" from audit.record_version
        where request_id like 'bench-%'`;

      // 2. One statement updating every bench inventory row, off then on.
      const bulk: Record<string, number> = {};
      for (const mode of ["off", "on"] as const) {
        await setTracking(mode === "on");
        await sql`vacuum analyze public.inventory`;
        const started = performance.now();
        const [{ n }] = await sql<{ n: number }[]>`
          with changed as (
            update public.inventory set on_hand = on_hand + 1
            where product_id = any (${fixtures.productIds}::bigint[]) returning 1
          ) select count(*)::int as n from changed`;
        bulk[mode] = (performance.now() - started) / 1000;
        console.log(`bulk update ${mode}: ${n} rows in ${bulk[mode].toFixed(2)} s`);
      }
      await setTracking(true);
      const [{ audited }] = await sql<{ audited: number }[]>`
        select count(*)::int as audited from audit.record_version
        where table_name = 'inventory' and op = 'UPDATE'
          and (record ->> 'product_id')::bigint = any (${fixtures.productIds}::bigint[])`;

      // 3. Seal everything, then verify the whole chain.
      const sealStarted = performance.now();
      const [{ sealed }] = await sql<{ sealed: number }[]>`select audit.seal(10000000) as sealed`;
      const sealSeconds = (performance.now() - sealStarted) / 1000;
      const [{ chain }] = await sql<
        { chain: number }[]
      >`select count(*)::int as chain from audit.seal`;
      const verifyTimes: number[] = [];
      let problems = 0;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const found = await sql`select * from audit.verify()`;
        verifyTimes.push((performance.now() - started) / 1000);
        problems += found.length;
      }
      const verifySeconds = median(verifyTimes);
      console.log(
        `sealed ${sealed} in ${sealSeconds.toFixed(2)} s; verified ${chain} in ` +
          `${verifySeconds.toFixed(2)} s (${problems} problems)`,
      );

      const [{ version }] = await sql<{ version: string }[]>`select version()`;
      await Deno.writeTextFile(
        REPORT,
        report({
          version,
          rounds,
          duration,
          clients,
          rows,
          placement,
          rowsPerOrder: placementRows / ordersTracked,
          bulk,
          audited,
          sealed,
          sealSeconds,
          chain,
          verifySeconds,
          problems,
        }),
      );
      console.log(`wrote ${REPORT}`);
    } finally {
      await sql.end();
    }
  } finally {
    await admin.unsafe(`drop database if exists ${BENCH_DB} with (force)`);
    await admin.end();
  }
});

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

interface Fixtures {
  customers: string[];
  productIds: number[];
  sellable: number[];
}

/** 200 customers, `rows` products with stock; per-customer caps lifted for the bench. */
async function setUpFixtures(sql: postgres.Sql, rows: number): Promise<Fixtures> {
  const customers = await sql<{ id: string }[]>`
    insert into auth.users (id, aud, role, email)
    select gen_random_uuid(), 'authenticated', 'authenticated', 'bench-' || g || '@example.com'
    from generate_series(1, 200) g
    returning id::text`;
  const [{ id: category }] = await sql<{ id: number }[]>`
    insert into public.categories (name, slug) values ('Bench', 'bench-audit') returning id`;
  const products = await sql<{ id: number }[]>`
    insert into public.products (sku, name, price_cents, category_id)
    select 'BENCH-' || g, 'Bench product ' || g, 100 + g % 900, ${category}
    from generate_series(1, ${rows}) g
    returning id`;
  await sql`
    insert into public.inventory (product_id, on_hand)
    select id, 1000000000 from public.products where category_id = ${category}`;
  await sql`update private.order_limits set max_pending_orders = 10000,
    max_pending_units = 10000000`;
  const productIds = products.map((p) => Number(p.id));
  return { customers: customers.map((c) => c.id), productIds, sellable: productIds.slice(0, 500) };
}

/** `clients` loops placing 3-line orders for `seconds`, the way the API does. */
async function placeOrders(
  sql: postgres.Sql,
  { customers, sellable }: Fixtures,
  clients: number,
  seconds: number,
): Promise<{ orders: number; seconds: number }> {
  const until = performance.now() + seconds * 1000;
  let orders = 0;
  let sequence = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < until) {
      const n = sequence++;
      const customer = customers[n % customers.length];
      const items = [0, 1, 2].map((i) => ({
        product_id: sellable[(n * 7 + i * 131) % sellable.length],
        quantity: 1 + (n + i) % 3,
      }));
      await sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${
          JSON.stringify({ sub: customer, role: "authenticated" })
        }, true), set_config('comptoir.request_id', ${`bench-${n}`}, true)`;
        await tx`select order_id from shop_api.place_order(${customer}::uuid, ${
          tx.json(items as never)
        })`;
      });
      orders++;
    }
  }));
  return { orders, seconds: (performance.now() - started) / 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function report(r: {
  version: string;
  rounds: number;
  duration: number;
  clients: number;
  rows: number;
  placement: Round[];
  rowsPerOrder: number;
  bulk: Record<string, number>;
  audited: number;
  sealed: number;
  sealSeconds: number;
  chain: number;
  verifySeconds: number;
  problems: number;
}): string {
  const rate = (mode: "on" | "off") =>
    r.placement.filter((p) => p.mode === mode).map((p) => p.orders / p.seconds);
  const on = median(rate("on"));
  const off = median(rate("off"));
  const slower = (1 - on / off) * 100;
  const perRound = r.placement.map((p, i) =>
    `| ${Math.floor(i / 2) + 1} | ${p.mode} | ${fmt(p.orders)} | ${fmt(p.orders / p.seconds)} |`
  ).join("\n");
  const bulkRate = r.rows / r.bulk.on;
  const verifyRate = r.chain / r.verifySeconds;
  const sealRate = r.sealed / r.sealSeconds;
  const met = (ok: boolean) => ok ? "yes" : "no";
  return `# Audit trail cost

Produced on ${new Date().toISOString().slice(0, 10)} by

\`\`\`sh
deno task bench:audit --rounds ${r.rounds} --duration ${r.duration} --clients ${r.clients} --rows ${r.rows}
\`\`\`

on a throwaway database (every migration applied, dropped afterwards) of a local
${r.version.split(",")[0]}. The bench client and the server share the same 2 cores, on a machine
that other work was using at the same time: compare the rows of one table (same run, alternating
rounds), not the absolute figures with other reports.

## Order placement, tracking on vs off

\`shop_api.place_order\` with 3 lines, ${r.clients} concurrent clients, each order in its own
transaction with the customer's claims and a request id set first (as the API does). Tracking on,
an order wrote ${fmt(r.rowsPerOrder, 1)} audit rows on average (the order, its lines, the stock
reservations, the customer's row on a first order), one \`INSERT ... SELECT\` per statement.
${r.rounds} rounds of ${r.duration} s per mode, alternating which goes first; medians over
rounds.

| tracking | orders/s (median) |
| --- | ---: |
| off | ${fmt(off)} |
| on | ${fmt(on)} |

Slower with tracking on: **${fmt(slower, 1)} %** (target ≤ 15 %: ${met(slower <= 15)}).

<details><summary>Every round</summary>

| round | tracking | orders | orders/s |
| --- | --- | ---: | ---: |
${perRound}

</details>

## Bulk update of ${fmt(r.rows)} tracked rows

One \`UPDATE public.inventory ... WHERE product_id = ANY(...)\` over ${fmt(r.rows)} rows (after
\`VACUUM ANALYZE\`), tracking off then on. With tracking on the statement trigger writes one audit
row per changed row in one \`INSERT ... SELECT\` over the transition tables
(${fmt(r.audited)} audit rows written).

| tracking | seconds | rows/s |
| --- | ---: | ---: |
| off | ${fmt(r.bulk.off, 2)} | ${fmt(r.rows / r.bulk.off)} |
| on | ${fmt(r.bulk.on, 2)} | ${fmt(bulkRate)} |

Audited row changes per second: **${fmt(bulkRate)}** (target ≥ 10,000/s: ${
    met(bulkRate >= 10_000)
  }).

## Sealing and verification

\`audit.seal()\` then chained every row written above in one call; \`audit.verify()\` then
checked the whole chain (median of 3 runs; problems found: ${r.problems}).

| step | rows | seconds | rows/s |
| --- | ---: | ---: | ---: |
| seal | ${fmt(r.sealed)} | ${fmt(r.sealSeconds, 2)} | ${fmt(sealRate)} |
| verify | ${fmt(r.chain)} | ${fmt(r.verifySeconds, 2)} | ${fmt(verifyRate)} |

Verification rate: **${fmt(verifyRate)} rows/s** (target ≥ 100,000/s: ${
    met(verifyRate >= 100_000)
  }).
`;
}
