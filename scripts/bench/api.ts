/**
 * `deno task bench:api`: end-to-end HTTP through the local gateway on the local Postgres at the
 * 1M-order scale, rate limiting on (the default Postgres backend) and metrics on. For each hot
 * operation wrk draws varied parameters from lists read out of the database (search words,
 * categories, order ids, product pages, dashboard windows) and a client address per request
 * (`X-Forwarded-For` behind one trusted proxy), beside the same run's ceiling: the health readiness
 * route (one `select 1`). Operations alternate over rounds so noise hits them alike.
 *
 * Sections (`--sections`, all by default):
 * - `roundtrips`: database round trips per route, counted on the wire (round_trip_proxy.ts);
 * - `profile`: a CPU profile of the gateway under a mix of the operations (top ten self time);
 * - `direct`: the ratio table at `--connections` (50);
 * - `single`: every operation at one connection (end-to-end latency);
 * - `pgbouncer`: the ratio table again through PgBouncer in transaction mode (a small server pool
 *   shared by `--processes` gateway processes);
 * - `soak`: `--soak` seconds (300) of inventory reads at 50 connections over many addresses,
 *   sampling the gateway's RSS and the rate-limit table every 10 s.
 *
 * Writes docs/benchmarks/api.md and the figures as docs/benchmarks/api.json; `--before FILE`
 * (an earlier run's JSON) puts its figures beside this run's. Needs `deno task db:start` and a
 * seeded shop (`deno task seed --scale 1000`), or `--db-url`.
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { runMain, StackError } from "../lib/command.ts";
import { type CpuProfile, type SelfTime, startProfiler, topSelfTime } from "../lib/cpu_profile.ts";
import { freePort } from "../lib/dev_stack.ts";
import { type DevServer, startDevServer } from "../lib/dev_server_process.ts";
import { localApiKeys, localJwtSecret, userToken } from "../lib/local_keys.ts";
import { devCluster } from "../lib/pg_cluster.ts";
import { startPgBouncer } from "../lib/pgbouncer.ts";
import { roundTripsOf, startRoundTripProxy } from "../lib/round_trip_proxy.ts";
import { wrk, type WrkResult } from "../lib/wrk.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const inRoot = (path: string) => path.startsWith("/") ? path : `${ROOT}${path}`;
const SECTIONS = [
  "roundtrips",
  "dashboard",
  "profile",
  "direct",
  "single",
  "pgbouncer",
  "soak",
] as const;
type Section = typeof SECTIONS[number];

/** Requests/s and p95 an operation must reach, relative to the same run's ceiling. */
interface Target {
  minShare: number;
  maxP95Ratio: number;
}

interface Operation {
  name: string;
  lua: string;
  target?: Target;
  /** Seconds of database work per request: no warm-up run (it would load the database for minutes). */
  heavy?: boolean;
}

/** One measured operation: medians over rounds. */
interface Measured {
  name: string;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  requests: number;
}

/** Everything a run measured (docs/benchmarks/api.json). */
interface Figures {
  date: string;
  commit: string;
  orders: number;
  connections: number;
  roundTrips?: Record<string, number>;
  profile?: { window: string; samples: number; top: SelfTime[] };
  direct?: Measured[];
  single?: Measured[];
  pgbouncer?: Measured[];
  soak?: {
    seconds: number;
    samples: { t: number; rssMb: number; rps: number; counters: number }[];
  };
  /** Sections measured again by a later run (`--merge`). */
  remeasured?: { sections: string[]; date: string; commit: string };
  dashboard?: {
    refreshOneDayMs: number;
    windows: { days: number; rollupsMs: number; liveMs?: number }[];
  };
}

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "db-url": { type: "string" },
      duration: { type: "string", default: "6" },
      rounds: { type: "string", default: "2" },
      connections: { type: "string", default: "50" },
      pool: { type: "string", default: "10" },
      processes: { type: "string", default: "2" },
      "pooler-size": { type: "string", default: "8" },
      soak: { type: "string", default: "300" },
      sections: { type: "string", default: SECTIONS.join(",") },
      before: { type: "string" },
      commit: { type: "string" },
      merge: { type: "string" },
      out: { type: "string", default: "docs/benchmarks/api" },
    },
  });
  const dbUrl = values["db-url"] ?? devCluster().url();
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const sections = new Set(values.sections!.split(",") as Section[]);
  for (const s of sections) {
    if (!SECTIONS.includes(s)) {
      throw new StackError(`unknown section ${s} (${SECTIONS.join(", ")})`);
    }
  }

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
  // A customer of its own per run for the round-trip count of order placement (the pending-order
  // cap counts per customer), and a product with stock to spare.
  const benchUser = crypto.randomUUID();
  await sql`insert into auth.users (id, aud, role, email)
            values (${benchUser}, 'authenticated', 'authenticated',
                    ${`bench-api-${benchUser.slice(0, 8)}@example.com`})`;
  const [{ stocked }] = await sql`
    select i.product_id as stocked from public.inventory i
    join public.products p on p.id = i.product_id and p.active
    order by i.on_hand - i.reserved desc limit 1`;
  const commit = values.commit ?? new TextDecoder().decode(
    (await new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"], cwd: ROOT }).output())
      .stdout,
  ).trim();

  const secret = localJwtSecret();
  const { serviceRole } = await localApiKeys(secret);
  // Per-user policies see one identity here (the service role): their limits are raised so that
  // what is measured is the check, not refusals. Per-address ones see a new address per request.
  const env = {
    COMPTOIR_DB_POOL_MAX: values.pool!,
    COMPTOIR_RATE_LIMIT_BACKEND: "postgres",
    COMPTOIR_TRUSTED_PROXY: "1",
    COMPTOIR_RATE_LIMITS: JSON.stringify({
      orders_read: { limit: 1_000_000_000 },
      dashboard: { limit: 1_000_000_000 },
      orders_create: { limit: 1_000_000_000 },
    }),
  };
  const lua = (paths: string, extraHeaders = "") => `
math.randomseed(20261126)
${paths}
request = function()
  -- Headers given to wrk.format replace wrk's own (Host, the -H ones): copy them first.
  local headers = {${extraHeaders}}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["X-Forwarded-For"] = "198.18." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", pick(), headers)
end
`;
  const list = (name: string, items: (string | number)[]) =>
    `local ${name} = {${items.map((i) => JSON.stringify(String(i))).join(",")}}`;
  const pages = Array.from({ length: 500 }, (_, i) => {
    const start = (i * 7919) % Math.max(1, productIds.length - 20);
    return productIds.slice(start, start + 20).join(",");
  });
  const api = "/functions/v1/api/v2";
  const hot = (share: number, p95: number): Target => ({ minShare: share, maxP95Ratio: p95 });
  const operations = (etag: string): Operation[] => [
    {
      name: "ceiling: select 1 (health)",
      lua: lua(`function pick() return "/functions/v1/health" end`),
    },
    {
      name: "product search (broad words)",
      target: hot(0.3, 3),
      lua: lua(`${list("words", words.map(encodeURIComponent))}
local sorts = {"relevance", "price", "-price", "name"}
function pick()
  return "${api}/products?q=" .. words[math.random(#words)] .. "&sort=" .. sorts[math.random(#sorts)] .. "&limit=20"
end`),
    },
    {
      name: "category listing (200)",
      target: hot(0.2, 2),
      lua: lua(`function pick() return "${api}/categories" end`),
    },
    {
      name: "category listing (304)",
      target: hot(0.6, 2),
      lua: lua(
        `function pick() return "${api}/categories" end`,
        `["If-None-Match"] = ${JSON.stringify(etag)}`,
      ),
    },
    {
      name: "category products page",
      target: hot(0.6, 1.5),
      lua: lua(`${list("cats", categories)}
function pick() return "${api}/categories/" .. cats[math.random(#cats)] .. "/products?limit=20&sort=price" end`),
    },
    {
      name: "sales dashboard 30 days",
      target: hot(0.6, 1.5),
      lua: lua(`function pick() return "${api}/dashboard/sales?days=30" end`),
    },
    {
      name: "order details",
      target: hot(0.6, 1.5),
      lua: lua(`function pick() return "${api}/orders/" .. math.random(${max_order}) end`),
    },
    {
      name: "inventory",
      target: hot(0.6, 1.5),
      lua: lua(`${list("pages", pages)}
function pick() return "${api}/inventory?product_ids=" .. pages[math.random(#pages)] end`),
    },
    {
      name: "sales dashboard 1-365 days",
      heavy: true,
      target: hot(0.6, 1.5),
      lua: lua(`function pick() return "${api}/dashboard/sales?days=" .. math.random(365) end`),
    },
  ];
  const headers = { authorization: `Bearer ${serviceRole}` };
  // --merge FILE: measure only the sections asked for, into an earlier run's figures.
  const figures: Figures = values.merge
    ? {
      ...JSON.parse(await Deno.readTextFile(values.merge)) as Figures,
      remeasured: { sections: [...sections], date: new Date().toISOString(), commit },
    }
    : { date: new Date().toISOString().slice(0, 10), commit, orders, connections };

  /** Rounds of every operation against `targets` (load split evenly between them). */
  async function measure(
    targets: DevServer[],
    ops: Operation[],
    opts: { connections: number; duration: number; rounds: number; warmUp: number; label: string },
  ): Promise<Measured[]> {
    const runOne = async (op: Operation, seconds: number) => {
      const each = Math.max(1, Math.floor(opts.connections / targets.length));
      const results = await Promise.all(targets.map((t) =>
        wrk(`${t.url}/functions/v1/health`, {
          connections: each,
          threads: Math.min(2, each),
          durationSeconds: seconds,
          headers,
          requestScript: op.lua,
        })
      ));
      return merge(results);
    };
    for (const op of ops) {
      if (opts.warmUp > 0 && !op.heavy) {
        await runOne(op, opts.warmUp);
        await settle(targets);
      }
    }
    const all = new Map<string, WrkResult[]>();
    for (let round = 1; round <= opts.rounds; round++) {
      for (const op of ops) {
        const r = await runOne(op, opts.duration);
        // Statements of requests wrk gave up on still run: let them end before the next one.
        await settle(targets);
        all.set(op.name, [...all.get(op.name) ?? [], r]);
        console.log(
          `${opts.label} round ${round} ${op.name.padEnd(30)} ${
            r.requestsPerSecond.toFixed(0).padStart(7)
          } req/s p50 ${r.p50Ms.toFixed(2)} p95 ${r.p95Ms.toFixed(2)} ms` +
            (r.errors > 0 ? ` (${r.errors} errors)` : ""),
        );
      }
    }
    return [...all].map(([name, rs]) => ({
      name,
      rps: median(rs.map((r) => r.requestsPerSecond)),
      p50: median(rs.map((r) => r.p50Ms)),
      p95: median(rs.map((r) => r.p95Ms)),
      p99: median(rs.map((r) => r.p99Ms)),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      requests: rs.reduce((n, r) => n + r.requests, 0),
    }));
  }

  /**
   * Waits (at most 120 s) until no client statement runs any more (through PgBouncer the
   * gateways' application_name does not reach the server), and the gateways answer their health
   * route again (a database breaker opened by the load has closed).
   */
  const settle = async (targets: DevServer[] = []) => {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const [{ n }] = await sql`
        select count(*)::int as n from pg_catalog.pg_stat_activity
        where backend_type = 'client backend' and state = 'active'
          and pid <> pg_catalog.pg_backend_pid()`;
      let healthy = true;
      for (const t of targets) {
        const res = await fetch(`${t.url}/functions/v1/health`).catch(() => undefined);
        await res?.body?.cancel();
        healthy &&= res?.status === 200;
      }
      if (n === 0 && healthy) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  const etagOf = async (server: DevServer) => {
    const res = await fetch(`${server.url}${api}/categories`, { headers });
    await res.body?.cancel();
    const etag = res.headers.get("etag");
    if (!etag) console.warn("the category listing answers no ETag: the 304 row measures 200s");
    return etag ?? '"none"';
  };

  try {
    if (sections.has("roundtrips")) {
      figures.roundTrips = await countRoundTrips(dbUrl, env, {
        serviceRole,
        user: await userToken(secret, { id: benchUser }),
        productId: Number(stocked),
        categoryId: categories[0],
        orderId: Math.ceil(max_order / 2),
      });
      console.log("round trips", figures.roundTrips);
    }

    if (sections.has("dashboard")) {
      figures.dashboard = await dashboardTimings(sql);
      console.log("dashboard", figures.dashboard);
    }

    if (sections.has("profile") || sections.has("direct") || sections.has("single")) {
      const inspect = freePort();
      const server = await startDevServer({
        dbUrl,
        quiet: true,
        env,
        denoFlags: sections.has("profile") ? [`--inspect=127.0.0.1:${inspect}`] : [],
      });
      try {
        const ops = operations(await etagOf(server));
        if (sections.has("profile")) {
          // One script that draws an operation per request, so the profile weighs them alike.
          const mix: Operation = {
            name: "mix",
            lua: mixScript(ops.slice(1).filter((op) => op.name !== "sales dashboard 1-365 days")),
          };
          await measure([server], [mix], {
            connections,
            duration: 3,
            rounds: 1,
            warmUp: 0,
            label: "profile warm-up",
          });
          const profiler = await startProfiler(inspect);
          await measure([server], [mix], {
            connections,
            duration: 10,
            rounds: 1,
            warmUp: 0,
            label: "profile",
          });
          const profile: CpuProfile = await profiler.stop();
          // Under .local/ (not committed): about 1 MB, to open in Chrome DevTools.
          await Deno.mkdir(`${ROOT}.local`, { recursive: true });
          const name = values.out!.split("/").pop();
          await Deno.writeTextFile(`${ROOT}.local/${name}.cpuprofile`, JSON.stringify(profile));
          figures.profile = {
            window: `10 s of the operation mix at ${connections} connections`,
            samples: profile.samples.length,
            top: topSelfTime(profile, 10),
          };
        }
        if (sections.has("direct")) {
          figures.direct = await measure([server], ops, {
            connections,
            duration,
            rounds,
            warmUp: 2,
            label: "direct",
          });
        }
        if (sections.has("single")) {
          figures.single = await measure([server], ops, {
            connections: 1,
            duration: 3,
            rounds: 1,
            warmUp: 1,
            label: "1 connection",
          });
        }
      } finally {
        await server.stop();
      }
    }

    if (sections.has("pgbouncer")) {
      const pooler = await startPgBouncer({
        upstreamPort: Number(new URL(dbUrl).port),
        port: freePort(),
        poolSize: Number(values["pooler-size"]),
      });
      const servers: DevServer[] = [];
      try {
        for (let i = 0; i < Number(values.processes); i++) {
          // PgBouncer 1.18 cannot follow pipelined Syncs (pgbouncer/pgbouncer#759): one query in
          // flight per client connection, as a deployment behind it would set.
          servers.push(
            await startDevServer({
              dbUrl: pooler.url(),
              quiet: true,
              env: { ...env, COMPTOIR_DB_PIPELINE: "1" },
            }),
          );
        }
        figures.pgbouncer = await measure(servers, operations(await etagOf(servers[0])), {
          connections,
          duration,
          rounds,
          warmUp: 2,
          label: "pgbouncer",
        });
      } finally {
        for (const server of servers) await server.stop();
        await pooler.stop();
      }
    }

    if (sections.has("soak")) {
      figures.soak = await soak(
        dbUrl,
        env,
        headers,
        operations("").find((op) => op.name === "inventory")!,
        Number(values.soak),
        sql,
      );
    }
  } finally {
    await sql.end();
  }

  await Deno.writeTextFile(inRoot(`${values.out}.json`), JSON.stringify(figures, null, 2) + "\n");
  const before = values.before
    ? JSON.parse(await Deno.readTextFile(values.before)) as Figures
    : undefined;
  const report = render(figures, before, {
    duration,
    rounds,
    pool: values.pool!,
    processes: values.processes!,
    poolerSize: values["pooler-size"]!,
    words: words.length,
    categories: categories.length,
    maxOrder: max_order,
    operations: operations(""),
  });
  await Deno.writeTextFile(inRoot(`${values.out}.md`), report);
  console.log(`\n${report}\nwritten to ${values.out}.md and ${values.out}.json`);
});

/** One request per line of the operations, drawn at random per request. */
function mixScript(ops: Operation[]): string {
  // Each operation's script defines `pick` and `request`; wrap each in a function of its own.
  const bodies = ops.map((op, i) => {
    const body = op.lua.replace("math.randomseed(20261126)", "")
      .replace("function pick()", "local function pick()")
      .replace("request = function()", "local request = function()");
    return `local op${i} = (function()\n${body}\nreturn request end)()`;
  });
  return `math.randomseed(20261126)
${bodies.join("\n")}
local ops = {${ops.map((_, i) => `op${i}`).join(", ")}}
request = function() return ops[math.random(#ops)]() end
`;
}

function merge(results: WrkResult[]): WrkResult {
  if (results.length === 1) return results[0];
  return {
    requests: results.reduce((n, r) => n + r.requests, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    requestsPerSecond: results.reduce((n, r) => n + r.requestsPerSecond, 0),
    // The slower process's percentiles: a conservative bound.
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    p95Ms: Math.max(...results.map((r) => r.p95Ms)),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    maxMs: Math.max(...results.map((r) => r.maxMs)),
  };
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** Round trips of each route, one request at a time, through the counting relay. */
async function countRoundTrips(
  dbUrl: string,
  env: Record<string, string>,
  ids: {
    serviceRole: string;
    user: string;
    productId: number;
    categoryId: number;
    orderId: number;
  },
): Promise<Record<string, number>> {
  const url = new URL(dbUrl);
  const proxy = await startRoundTripProxy({ upstreamPort: Number(url.port) });
  url.port = String(proxy.port);
  const server = await startDevServer({
    dbUrl: url.href,
    quiet: true,
    env: { ...env, COMPTOIR_DB_POOL_MAX: "1" },
  });
  const api = `${server.url}/functions/v1/api/v2`;
  let key = 0;
  const call = (path: string, token: string, method = "GET") => async () => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        "x-forwarded-for": `198.19.0.${1 + key % 250}`,
        ...(method === "POST"
          ? {
            "content-type": "application/json",
            "idempotency-key": `bench-${Date.now()}-${key++}`,
          }
          : {}),
      },
      body: method === "POST"
        ? JSON.stringify({ items: [{ product_id: ids.productId, quantity: 1 }] })
        : undefined,
    });
    await res.body?.cancel();
    if (res.status >= 300) throw new StackError(`${method} ${path}: ${res.status}`);
  };
  const routes: Record<string, () => Promise<void>> = {
    "GET /products (anonymous)": call("/products?q=lamp&limit=20", ids.serviceRole),
    "GET /products/:id (anonymous)": call(`/products/${ids.productId}`, ids.serviceRole),
    "GET /categories (anonymous)": call("/categories", ids.serviceRole),
    "GET /categories/:id/products (anonymous)": call(
      `/categories/${ids.categoryId}/products?limit=20`,
      ids.serviceRole,
    ),
    "GET /inventory (anonymous)": call(`/inventory?product_ids=${ids.productId}`, ids.serviceRole),
    "GET /orders (user)": call("/orders?limit=20", ids.user),
    "GET /orders/:id (user)": call(`/orders/${ids.orderId}`, ids.serviceRole),
    "POST /orders (user)": call("/orders", ids.user, "POST"),
    "GET /dashboard/sales (admin)": call("/dashboard/sales?days=30", ids.serviceRole),
    "GET /dashboard/top-products (admin)": call("/dashboard/top-products?days=30", ids.serviceRole),
  };
  const counted: Record<string, number> = {};
  try {
    for (const [route, fn] of Object.entries(routes)) {
      counted[route] = await roundTripsOf(proxy, fn);
    }
  } finally {
    await server.stop();
    await proxy.close();
  }
  return counted;
}

/**
 * SQL timings of the dashboard: the refresh after one changed day, and windows read from the daily
 * rollups beside the live computation of the same document (which they must equal).
 */
async function dashboardTimings(sql: postgres.Sql): Promise<NonNullable<Figures["dashboard"]>> {
  const time = async (run: () => Promise<unknown>) => {
    const started = performance.now();
    await run();
    return performance.now() - started;
  };
  await sql`select private.refresh_sales_rollups()`;
  // An order of an earlier day changes: that day, and only it, is recomputed.
  await sql`update public.orders set updated_at = now()
            where id = (select max(id) from public.orders where placed_at < now() - interval '3 days')`;
  const refreshOneDayMs = await time(() => sql`select private.refresh_sales_rollups()`);
  const windows = [];
  for (const days of [1, 12, 45, 90, 200, 365]) {
    const rollupsMs = await time(() =>
      sql`select private.sales_dashboard_from_rollups(${days}::int, now())`
    );
    let liveMs: number | undefined;
    if (days === 45 || days === 200) {
      liveMs = await time(() => sql`select private.sales_dashboard_compute(${days}::int, now())`);
      const [{ same }] = await sql`
        select (private.sales_dashboard_from_rollups(${days}::int, now()) - 'as_of')
             = (private.sales_dashboard_compute(${days}::int, now()) - 'as_of') as same`;
      if (!same) throw new StackError(`the ${days}-day dashboard from the rollups differs`);
    }
    windows.push({ days, rollupsMs, liveMs });
  }
  return { refreshOneDayMs, windows };
}

/** Inventory reads for `seconds`, in 10 s slices, with the gateway's RSS after each. */
async function soak(
  dbUrl: string,
  env: Record<string, string>,
  headers: Record<string, string>,
  op: Operation,
  seconds: number,
  sql: postgres.Sql,
): Promise<NonNullable<Figures["soak"]>> {
  const server = await startDevServer({ dbUrl, quiet: true, env });
  const samples: NonNullable<Figures["soak"]>["samples"] = [];
  try {
    const rss = async () => {
      const status = await Deno.readTextFile(`/proc/${server.pid}/status`);
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    };
    const counters = async () =>
      (await sql`select count(*)::int as n from rate_limit.counters`)[0].n as number;
    samples.push({ t: 0, rssMb: await rss(), rps: 0, counters: await counters() });
    for (let t = 10; t <= seconds; t += 10) {
      const r = await wrk(`${server.url}/functions/v1/health`, {
        connections: 50,
        durationSeconds: 10,
        headers,
        requestScript: op.lua.replace("math.randomseed(20261126)", `math.randomseed(${t})`),
      });
      samples.push({ t, rssMb: await rss(), rps: r.requestsPerSecond, counters: await counters() });
      console.log(
        `soak ${String(t).padStart(3)} s: ${r.requestsPerSecond.toFixed(0)} req/s, RSS ${
          samples.at(-1)!.rssMb.toFixed(1)
        } MB, ${samples.at(-1)!.counters} rate-limit rows`,
      );
    }
  } finally {
    await server.stop();
  }
  return { seconds, samples };
}

interface RenderContext {
  duration: number;
  rounds: number;
  pool: string;
  processes: string;
  poolerSize: string;
  words: number;
  categories: number;
  maxOrder: number;
  operations: Operation[];
}

function render(f: Figures, before: Figures | undefined, ctx: RenderContext): string {
  const out: string[] = [];
  const targets = new Map(ctx.operations.map((op) => [op.name, op.target]));
  out.push(`# Shop API end to end

Produced by \`deno task bench:api\` (scripts/bench/api.ts) on ${f.date} at commit ${f.commit}:
the local gateway (\`deno task dev --db-url\`, ${ctx.pool} connections per process) on the local
PostgreSQL 15 with ${f.orders.toLocaleString("en-US")} orders, **rate limiting on** (the default
Postgres backend, one trusted proxy, a client address drawn per request from 65,024; the per-user
limits raised, every call being made with the service-role key) and **metrics on**. wrk with
${f.connections} connections and 2 threads, ${ctx.rounds} alternating rounds of ${ctx.duration} s per
operation after a warm-up, medians over rounds. Parameters are drawn per request from lists read
from the database (${ctx.words} search words taken from product names, so broad ones;
${ctx.categories} categories; order ids 1..${ctx.maxOrder}; 500 pages of 20 product ids; dashboard
windows of 1 to 365 days). Load generator, gateways, PgBouncer and PostgreSQL share the same
${navigator.hardwareConcurrency} cores, with other work running on the machine: the figures are
noisy, compare the ratios within one run.${
    before
      ? `\n\nThe "before" columns come from the same command run at commit ${before.commit} (${before.date}), the code before this pipeline's redesign (docs/benchmarks/api-before.json).`
      : ""
  }
`);
  if (f.remeasured) {
    out.push(
      `Sections measured again by a later run of the same command (\`--merge\`, ${
        f.remeasured.date.slice(0, 16).replace("T", " ")
      } UTC, commit ${f.remeasured.commit}): ${f.remeasured.sections.join(", ")}.
`,
    );
  }
  if (f.roundTrips) {
    out.push(`## Database round trips per request

Counted on the wire by a relay in front of Postgres (scripts/lib/round_trip_proxy.ts): each time
the gateway writes after the server last answered, one requests at a time, one pooled connection,
median of 5 requests after 2 warm-up ones, the rate-limit check included. tests/api/round_trips_test.ts
asserts at most 2 for anonymous reads and 3 for user-scoped calls.

| route | round trips |${before?.roundTrips ? " before |" : ""}
| --- | ---: |${before?.roundTrips ? " ---: |" : ""}
${
      Object.entries(f.roundTrips).map(([route, n]) =>
        `| ${route} | ${n} |${before?.roundTrips ? ` ${before.roundTrips[route] ?? "—"} |` : ""}`
      ).join("\n")
    }
`);
  }
  const table = (rows: Measured[], was?: Measured[]) => {
    const ceiling = rows[0];
    const lines = [
      `| operation | req/s | of ceiling | p50 ms | p95 ms | p95 / ceiling | target | errors / requests |${
        was ? " before: of ceiling | before: p95 ms |" : ""
      }`,
      `| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |${was ? " ---: | ---: |" : ""}`,
    ];
    for (const r of rows) {
      const share = r.rps / ceiling.rps;
      const p95Ratio = r.p95 / ceiling.p95;
      const t = targets.get(r.name);
      let verdict = "";
      if (t) {
        const misses: string[] = [];
        if (share < t.minShare) {
          misses.push(`req/s ${((t.minShare - share) * 100).toFixed(0)} points short`);
        }
        if (p95Ratio > t.maxP95Ratio) {
          misses.push(`p95 ${(p95Ratio / t.maxP95Ratio).toFixed(1)}× over`);
        }
        verdict = `≥ ${t.minShare * 100} %, ≤ ${t.maxP95Ratio}×: ${
          misses.length ? "missed, " + misses.join(", ") : "met"
        }`;
      }
      const old = was?.find((w) => w.name === r.name);
      lines.push(
        `| ${r.name} | ${r.rps.toFixed(0)} | ${(share * 100).toFixed(0)} % | ${
          r.p50.toFixed(2)
        } | ${r.p95.toFixed(2)} | ${
          p95Ratio.toFixed(2)
        } | ${verdict} | ${r.errors} / ${r.requests} |${
          was
            ? old
              ? ` ${(old.rps / was[0].rps * 100).toFixed(0)} % | ${old.p95.toFixed(2)} |`
              : " — | — |"
            : ""
        }`,
      );
    }
    return lines.join("\n");
  };
  if (f.direct) {
    out.push(`## Direct to PostgreSQL, ${f.connections} connections

${table(f.direct, before?.direct)}
`);
  }
  if (f.pgbouncer) {
    out.push(`## Through PgBouncer in transaction mode, ${f.connections} connections

PgBouncer 1.18 (scripts/lib/pgbouncer.ts, \`pool_mode = transaction\`, ${ctx.poolerSize} server
connections) shared by ${ctx.processes} gateway processes of ${ctx.pool} client connections each, the
load split evenly between them (two wrk processes; requests/s summed, percentiles those of the
slower process). Every database call of a request is one transaction (the claims travel in the
same batch as the query), so the pooler can hand the server connection to another client after
each; PgBouncer 1.18 does not support prepared statements in this mode, hence \`prepare: false\`,
and does not follow pipelined Syncs (pgbouncer/pgbouncer#759), hence \`COMPTOIR_DB_PIPELINE=1\`: one
query in flight per client connection.

${table(f.pgbouncer, before?.pgbouncer)}
`);
  }
  if (f.single) {
    out.push(`## One connection (end-to-end latency)

Target for every hot operation: p50 ≤ 2 ms and p95 ≤ 4 ms.

| operation | req/s | p50 ms | p95 ms | p99 ms | target |
| --- | ---: | ---: | ---: | ---: | --- |
${
      f.single.map((r) =>
        `| ${r.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${
          r.p99.toFixed(2)
        } | ${
          targets.get(r.name)
            ? r.p50 <= 2 && r.p95 <= 4
              ? "met"
              : `missed (p50 ${(r.p50 / 2).toFixed(1)}×, p95 ${(r.p95 / 4).toFixed(1)}× the target)`
            : ""
        } |`
      ).join("\n")
    }
`);
  }
  if (f.dashboard) {
    out.push(`## Dashboard

Timed from the bench's own connection (one call each, the round trip included). A refresh of the
daily rollups after one order of an earlier day changed: **${
      f.dashboard.refreshOneDayMs.toFixed(0)
    } ms** (target ≤ 1 s; the job runs every minute, so the data is at most a minute old). The
dashboard document of a window read from the rollups, beside the same document computed from the
orders (checked equal):

| window (days) | from the rollups, ms | computed live, ms |
| ---: | ---: | ---: |
${
      f.dashboard.windows.map((w) =>
        `| ${w.days} | ${w.rollupsMs.toFixed(0)} | ${
          w.liveMs === undefined ? "—" : w.liveMs.toFixed(0)
        } |`
      ).join("\n")
    }
`);
  }
  const profileTable = (p: NonNullable<Figures["profile"]>) =>
    `| function (self time) | ms | share |
| --- | ---: | ---: |
${
      p.top.map((t) => `| \`${t.function}\` | ${t.selfMs.toFixed(0)} | ${t.percent.toFixed(1)} % |`)
        .join("\n")
    }`;
  if (f.profile) {
    out.push(`## CPU profile of the gateway under load

${f.profile.window} (every operation but the ceiling and the long dashboard windows, drawn at random per request), sampled every
100 µs through the V8 inspector (scripts/lib/cpu_profile.ts; the full profile is written to
\`.local/api.cpuprofile\`, to open in Chrome DevTools): the ten functions with the most
self time, idle (\`(idle)\`) and garbage collection included.

${before?.profile ? "After:\n\n" : ""}${profileTable(f.profile)}
${
      before?.profile
        ? `\nBefore (commit ${before.commit}):\n\n${profileTable(before.profile)}\n`
        : ""
    }`);
  }
  if (f.soak) {
    const s = f.soak.samples;
    const at = (t: number) =>
      s.reduce((best, x) => Math.abs(x.t - t) < Math.abs(best.t - t) ? x : best);
    const start = at(Math.max(0, f.soak.seconds - 180));
    const end = s[s.length - 1];
    const growth = (end.rssMb - start.rssMb) / start.rssMb * 100;
    out.push(`## Soak: ${f.soak.seconds} s of inventory reads at 50 connections

A client address per request (65,024 of them), the gateway's resident memory (\`VmRSS\` of the
dev server process) and the rows of \`rate_limit.counters\` sampled every 10 s. Memory over the
last three minutes: ${start.rssMb.toFixed(1)} MB at ${start.t} s, ${end.rssMb.toFixed(1)} MB at
${end.t} s, ${growth >= 0 ? "+" : ""}${growth.toFixed(1)} % (target ≤ 10 %: ${
      growth <= 10 ? "met" : "missed"
    }). Expired counters are deleted by the \`rate_limit.purge_expired()\` job (pg_cron, every
10 minutes); a counter lives for its policy's window (60 s).

| t (s) | req/s in the last 10 s | RSS MB | rate-limit rows |
| ---: | ---: | ---: | ---: |
${
      s.map((x) => `| ${x.t} | ${x.rps.toFixed(0)} | ${x.rssMb.toFixed(1)} | ${x.counters} |`).join(
        "\n",
      )
    }
`);
  }
  return out.join("\n");
}
