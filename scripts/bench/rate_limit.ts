/**
 * The rate limiter's cost per request, in one run, in three views:
 *
 * 1. through HTTP: three dev servers on the same database — rate limiting off, the Postgres
 *    backend, the Upstash backend through the local proxy (redis-server +
 *    scripts/upstash_proxy.ts) — loaded in alternating rounds with wrk on the same api route
 *    (product detail; each request from one of 10 000 client addresses behind a trusted proxy,
 *    limits raised so nothing is refused, adaptive scaling off), at 1 connection (what one request
 *    pays) and at 50 (throughput, where the server's CPU is the limit);
 * 2. `RateLimiter.check()` alone, sequential, with each backend built as the api builds it;
 * 3. `rate_limit.consume()`: server-side cost, and one call through postgres.js sent as a
 *    parameterised statement (two round trips) and as one statement (one round trip, what the
 *    backend sends).
 *
 * Writes docs/benchmarks/rate-limit.md. The database needs the migrations and demo data:
 *
 *   deno run -A scripts/bench/rate_limit.ts --db-url postgresql://postgres:postgres@127.0.0.1:54322/postgres
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { runMain, StackError } from "../lib/command.ts";
import { freePort } from "../lib/dev_stack.ts";
import { type DevServer, startDevServer } from "../lib/dev_server_process.ts";
import { localApiKeys, localJwtSecret } from "../lib/local_keys.ts";
import { devCluster } from "../lib/pg_cluster.ts";
import { type LocalRedis, startLocalRedis } from "../lib/redis.ts";
import { wrk, type WrkResult } from "../lib/wrk.ts";
import { createDb } from "../../supabase/functions/_shared/db/client.ts";
import { RateLimiter } from "../../supabase/functions/_shared/rate_limit/limiter.ts";
import { PostgresRateLimitBackend } from "../../supabase/functions/_shared/rate_limit/postgres_backend.ts";
import type {
  RateLimitBackend,
  RateLimitPolicy,
} from "../../supabase/functions/_shared/rate_limit/types.ts";
import { UpstashRateLimitBackend } from "../../supabase/functions/_shared/rate_limit/upstash_backend.ts";
import { upstashFromEnv } from "../../supabase/functions/_shared/resilience/upstash_client.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TARGETS = ["off", "postgres", "upstash"] as const;
type Target = (typeof TARGETS)[number];
type Backend = Exclude<Target, "off">;

/** Added p50 latency the limiter may cost, per backend (ms). */
const TARGET_MS: Record<Backend, number> = { postgres: 1, upstash: 2 };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "db-url": { type: "string" },
      duration: { type: "string", default: "5" },
      rounds: { type: "string", default: "5" },
      connections: { type: "string", default: "50" },
      pool: { type: "string", default: "10" },
      calls: { type: "string", default: "3000" },
    },
  });
  const dbUrl = values["db-url"] ?? devCluster().url();
  const run = {
    duration: Number(values.duration),
    rounds: Number(values.rounds),
    connections: Number(values.connections),
    calls: Number(values.calls),
  };

  const sql = postgres(dbUrl, { max: 1, onnotice: () => {}, prepare: false });
  const [product] = await sql`select id from public.products where active order by id limit 1`;
  if (!product) throw new StackError("no products: seed the shop first (deno task seed)");
  console.log("timing rate_limit.consume()…");
  const consume = await consumeCosts(sql, run.calls, run.rounds);
  await sql.end();

  const redis = await startLocalRedis({ redisPort: freePort(), proxyPort: freePort() });
  const servers = new Map<Target, DevServer>();
  const results = new Map<string, WrkResult[]>();
  let limiter: Record<Backend, Percentiles>;
  try {
    console.log("timing RateLimiter.check()…");
    limiter = await limiterCosts(dbUrl, redis, run.calls, run.rounds);
    const common = {
      COMPTOIR_DB_POOL_MAX: values.pool!,
      COMPTOIR_TRUSTED_PROXY: "1",
      COMPTOIR_RATE_LIMIT_ADAPTIVE: "off",
      COMPTOIR_RATE_LIMITS: JSON.stringify({ catalog: { limit: 1_000_000_000 } }),
    };
    const urls = new Map<Target, string>();
    for (const target of TARGETS) {
      const env: Record<string, string> = { ...common, COMPTOIR_RATE_LIMIT_BACKEND: target };
      if (target === "upstash") {
        env.UPSTASH_REDIS_REST_URL = redis.url;
        env.UPSTASH_REDIS_REST_TOKEN = redis.token;
      }
      const server = await startServer(dbUrl, env);
      servers.set(target, server);
      urls.set(target, server.url);
    }
    const script = requestScript((await localApiKeys(localJwtSecret())).anon);
    const path = `/functions/v1/api/v1/products/${product.id}`;
    const load = (target: Target, c: number, seconds: number) =>
      wrk(urls.get(target)! + path, {
        connections: c,
        threads: c === 1 ? 1 : 2,
        durationSeconds: seconds,
        requestScript: script,
      });
    for (const target of TARGETS) await load(target, run.connections, 2); // warm-up
    for (let round = 1; round <= run.rounds; round++) {
      for (const c of [1, run.connections]) {
        for (const target of TARGETS) {
          const result = await load(target, c, run.duration);
          // wrk counts non-2xx answers and its own 2 s socket timeouts alike: a few timeouts on
          // a busy machine are reported, more means the run is not worth reading.
          if (result.errors > result.requests / 100) {
            throw new StackError(`${target}: ${result.errors} errors of ${result.requests}`);
          }
          const key = `${target}@${c}`;
          results.set(key, [...results.get(key) ?? [], result]);
          console.log(
            `round ${round} ${key.padEnd(12)} ${result.requestsPerSecond.toFixed(0).padStart(6)} ` +
              `req/s p50 ${result.p50Ms.toFixed(2)} ms p95 ${result.p95Ms.toFixed(2)} ms`,
          );
        }
      }
    }
  } finally {
    for (const server of servers.values()) await server.stop();
    await redis.stop();
  }

  const report = render(results, limiter, consume, run);
  await Deno.mkdir(`${ROOT}docs/benchmarks`, { recursive: true });
  await Deno.writeTextFile(`${ROOT}docs/benchmarks/rate-limit.md`, report);
  console.log(`\n${report}\nwritten to docs/benchmarks/rate-limit.md`);
});

/** wrk Lua: every request from one of 10 000 addresses, as the trusted proxy reports it. */
function requestScript(anonKey: string): string {
  return `
local addresses = {}
for i = 1, 10000 do
  addresses[i] = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
end
request = function()
  return wrk.format("GET", nil, {
    ["Authorization"] = "Bearer ${anonKey}",
    ["X-Forwarded-For"] = addresses[math.random(1, #addresses)],
  })
end`;
}

/** Starts `scripts/dev.ts` on a free port with `env` and waits until it serves. */
function startServer(dbUrl: string, env: Record<string, string>) {
  return startDevServer({ dbUrl, env, quiet: true });
}

interface Percentiles {
  p50: number;
  p95: number;
}

/**
 * `RateLimiter.check()` alone, sequential, with the backends as the api builds them: Postgres on
 * its own pool of two (`prepare: false`), Upstash through the proxy with the api's client settings.
 */
async function limiterCosts(
  dbUrl: string,
  redis: LocalRedis,
  calls: number,
  rounds: number,
): Promise<Record<Backend, Percentiles>> {
  const sql = createDb({ url: dbUrl, max: 2, applicationName: "comptoir-rate-limit-bench" });
  const upstash = upstashFromEnv(
    new Map([["UPSTASH_REDIS_REST_URL", redis.url], ["UPSTASH_REDIS_REST_TOKEN", redis.token]]),
  )!;
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
  const policy: RateLimitPolicy = {
    name: `bench_${tag}`,
    algorithm: "sliding_window",
    limit: 1_000_000_000,
    windowMs: 60_000,
    identity: "ip",
    failMode: "open",
  };
  const backends: Record<Backend, RateLimitBackend> = {
    postgres: new PostgresRateLimitBackend({ sql, timeoutMs: 3000 }),
    upstash: new UpstashRateLimitBackend({ redis: upstash.redis }),
  };
  const samples: Record<Backend, { p50: number[]; p95: number[] }> = {
    postgres: { p50: [], p95: [] },
    upstash: { p50: [], p95: [] },
  };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const kind of ["postgres", "upstash"] as const) {
        const limiter = new RateLimiter({ backend: backends[kind], log: () => {} });
        const times: number[] = [];
        for (let i = 0; i < calls + 200; i++) {
          const started = performance.now();
          const decision = await limiter.check(policy, `10.3.${i % 250}.${i % 199}`);
          if (decision.outcome !== "allowed") throw new StackError(`${kind}: ${decision.outcome}`);
          if (i >= 200) times.push(performance.now() - started);
        }
        times.sort((a, b) => a - b);
        samples[kind].p50.push(times[Math.floor(times.length * 0.5)]);
        samples[kind].p95.push(times[Math.floor(times.length * 0.95)]);
      }
    }
  } finally {
    await sql`delete from rate_limit.counters where key like ${`bench_${tag}:%`}`;
    await sql.end();
  }
  return {
    postgres: { p50: median(samples.postgres.p50), p95: median(samples.postgres.p95) },
    upstash: { p50: median(samples.upstash.p50), p95: median(samples.upstash.p95) },
  };
}

interface ConsumeCosts {
  serverMs: number;
  select1Ms: number;
  parameterisedMs: number;
  inlinedMs: number;
}

/**
 * Per-call cost of `rate_limit.consume()`: server side (a loop inside one DO block), and through
 * postgres.js with `prepare: false` as the functions use it, sequential calls on one connection.
 */
async function consumeCosts(
  sql: postgres.Sql,
  calls: number,
  rounds: number,
): Promise<ConsumeCosts> {
  const perCall = async (fn: (i: number) => Promise<unknown>) => {
    for (let i = 0; i < 200; i++) await fn(i);
    const started = performance.now();
    for (let i = 0; i < calls; i++) await fn(i);
    return (performance.now() - started) / calls;
  };
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
  const samples: Record<keyof ConsumeCosts, number[]> = {
    serverMs: [],
    select1Ms: [],
    parameterisedMs: [],
    inlinedMs: [],
  };
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await sql.unsafe(`
      do $$ begin
        for i in 1..${calls} loop
          perform rate_limit.consume('bench_${tag}:ip:10.0.' || (i % 250) || '.' || (i % 199),
                                     'sliding_window', 1000000000, 60000, 1000000000, 1, null);
        end loop;
      end $$`);
    samples.serverMs.push((performance.now() - started) / calls);
    samples.select1Ms.push(await perCall(() => sql`select 1`.execute()));
    samples.parameterisedMs.push(
      await perCall((i) =>
        sql`select allowed, remaining, reset_at_ms::text, limit_value from rate_limit.consume(
          ${`bench_${tag}:ip:10.1.${i % 250}.${i % 199}`}, ${"sliding_window"}, ${1_000_000_000},
          ${60_000}, ${1_000_000_000}, 1, ${null})`.execute()
      ),
    );
    samples.inlinedMs.push(
      await perCall((i) =>
        sql.unsafe(
          `select allowed, remaining, reset_at_ms::text, limit_value from rate_limit.consume(` +
            `'bench_${tag}:ip:10.2.${i % 250}.${i % 199}', 'sliding_window', 1000000000, 60000, ` +
            `1000000000, 1, null)`,
        ).execute()
      ),
    );
  }
  await sql`delete from rate_limit.counters where key like ${`bench_${tag}:%`}`;
  return {
    serverMs: median(samples.serverMs),
    select1Ms: median(samples.select1Ms),
    parameterisedMs: median(samples.parameterisedMs),
    inlinedMs: median(samples.inlinedMs),
  };
}

function render(
  results: Map<string, WrkResult[]>,
  limiter: Record<Backend, Percentiles>,
  consume: ConsumeCosts,
  run: { connections: number; duration: number; rounds: number; calls: number },
): string {
  const get = (target: Target, c: number) => {
    const rs = results.get(`${target}@${c}`)!;
    const p50s = rs.map((r) => r.p50Ms);
    return {
      rps: median(rs.map((r) => r.requestsPerSecond)),
      p50: median(p50s),
      p50Range: `${Math.min(...p50s).toFixed(2)}–${Math.max(...p50s).toFixed(2)}`,
      p95: median(rs.map((r) => r.p95Ms)),
      errors: rs.reduce((sum, r) => sum + r.errors, 0),
    };
  };
  const label: Record<Target, string> = {
    off: "rate limiting off",
    postgres: "Postgres backend",
    upstash: "Upstash backend (local proxy)",
  };
  const table = (c: number) => {
    const base = get("off", c);
    const rows = TARGETS.map((target) => {
      const r = get(target, c);
      const added = target === "off"
        ? "– | – | –"
        : `${(r.p50 - base.p50).toFixed(2)} | ${(r.p95 - base.p95).toFixed(2)} | ${
          ((1 - r.rps / base.rps) * 100).toFixed(1)
        } %`;
      return `| ${label[target]} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p50Range} | ${
        r.p95.toFixed(2)
      } | ${added} | ${r.errors} |`;
    });
    return "| limiter | req/s | p50 ms | p50 range over rounds | p95 ms | p50 added ms | " +
      "p95 added ms | throughput lost | wrk errors |\n" +
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n" + rows.join("\n");
  };
  const addedP50 = (target: Backend) => get(target, 1).p50 - get("off", 1).p50;
  const verdict = (value: number, target: number) => value <= target ? "yes" : "no";
  const date = new Date().toISOString().slice(0, 10);
  return `# Rate limiter overhead

Produced on ${date} by

\`\`\`sh
deno run -A scripts/bench/rate_limit.ts --db-url postgresql://postgres:postgres@127.0.0.1:PORT/postgres \\
  --rounds ${run.rounds} --duration ${run.duration} --connections ${run.connections} --calls ${run.calls}
\`\`\`

against a local PostgreSQL 15 with the migrations and demo data. Server, database, proxy, Redis
and wrk share the same ${navigator.hardwareConcurrency} cores on loopback, on a machine that other
work was using at the same time: compare the rows of one table (same run, alternating rounds), not
the absolute figures with other reports.

## The limiter alone

\`RateLimiter.check()\`, ${run.calls} sequential calls per round, each on another client address,
backends built as the api builds them (Postgres: own pool, \`prepare: false\`; Upstash: the api's
client through the local Upstash-REST proxy and redis-server); medians over ${run.rounds} rounds.
This is the latency the limiter adds to a request: it runs before the handler.

| backend | p50 ms | p95 ms | target (p50) | met |
| --- | ---: | ---: | ---: | --- |
| Postgres | ${limiter.postgres.p50.toFixed(3)} | ${
    limiter.postgres.p95.toFixed(3)
  } | ≤ ${TARGET_MS.postgres} | ${verdict(limiter.postgres.p50, TARGET_MS.postgres)} |
| Upstash (local proxy) | ${limiter.upstash.p50.toFixed(3)} | ${
    limiter.upstash.p95.toFixed(3)
  } | ≤ ${TARGET_MS.upstash} | ${verdict(limiter.upstash.p50, TARGET_MS.upstash)} |

## Through HTTP, one connection: what a request pays

Three dev servers on the same database (pool of 10 per server): rate limiting off / Postgres
backend / Upstash backend. wrk loads \`GET /functions/v1/api/v1/products/:id\` (policy \`catalog\`,
sliding window, limit raised so nothing is refused, adaptive scaling off), each request from one
of 10 000 client addresses in \`X-Forwarded-For\` behind a trusted proxy. ${run.rounds} alternating
rounds of ${run.duration} s per target after a 2 s warm-up; medians over rounds.

${table(1)}

p50 added through HTTP: Postgres ${
    addedP50("postgres").toFixed(2)
  } ms (target ≤ ${TARGET_MS.postgres} ms: ${
    verdict(addedP50("postgres"), TARGET_MS.postgres)
  }), Upstash ${addedP50("upstash").toFixed(2)} ms (target ≤ ${TARGET_MS.upstash} ms: ${
    verdict(addedP50("upstash"), TARGET_MS.upstash)
  }). The spread of the baseline's own p50 over rounds (${
    get("off", 1).p50Range
  } ms) is the noise these differences sit in; each extra round trip also pays the machine's
scheduling delay when its cores are busy, which the limiter-alone figures above do not.

## Through HTTP, ${run.connections} connections: throughput

${table(run.connections)}

At ${run.connections} connections the dev server's CPU is saturated, so its latency is queueing:
each request waits for the ~${run.connections} ahead of it, and any CPU the limiter spends per
request is multiplied by that queue. Read the first two tables for the latency a request pays and
this one for the throughput cost.

## rate_limit.consume() itself

${run.calls} sequential calls per round on one connection, medians over ${run.rounds} rounds, each
call on another client address:

| call | ms per call |
| --- | ---: |
| server side only (loop in one \`DO\` block) | ${consume.serverMs.toFixed(3)} |
| \`select 1\` through postgres.js | ${consume.select1Ms.toFixed(3)} |
| consume through postgres.js, parameterised (\`prepare: false\`) | ${
    consume.parameterisedMs.toFixed(3)
  } |
| consume through postgres.js, one statement with checked literals (what the backend sends) | ${
    consume.inlinedMs.toFixed(3)
  } |

Why the parameterised call cost far more than \`select 1\`: postgres.js sends a statement that has
parameters and is not prepared — \`prepare: false\` is required behind Supabase's transaction
pooler — in two round trips, Parse + Describe first to learn the parameter types, then Bind +
Execute (\`describeFirst\` in postgres.js's connection.js); \`select 1\` has no parameters and goes
in one. The function's own work inside the server is the first line. The backend therefore sends
one statement without parameters: the key is reduced to \`[A-Za-z0-9_.:/@+=-]\` plus \`%XX\`
escapes (which can never end a string literal), numbers are checked safe integers, the algorithm
one of three names (\`_shared/rate_limit/postgres_backend.ts\`).
`;
}
