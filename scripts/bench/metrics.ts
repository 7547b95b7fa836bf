/**
 * `deno task bench:metrics`: what the metrics cost. In one run, on the same database:
 *
 * 1. Throughput and latency of two hot routes — liveness (`/functions/v1/health/live`, no I/O, the
 *    worst case for a relative overhead) and the catalogue (`/functions/v1/api/v1/categories`, one
 *    query) — served by two dev servers that differ only in `COMPTOIR_METRICS` (`on` / `off`),
 *    loaded with wrk in alternating rounds so machine noise hits both alike. Target: at most 5 %
 *    throughput lost with metrics on.
 * 2. The same cost measured in this process, where machine noise matters least: a function app
 *    built by `createFunctionApp` with the metrics middleware against an identical one whose
 *    middleware records nothing, called in small alternating batches (no network, no wrk).
 * 3. Time to answer one scrape of the `metrics` function when the store holds 10,000 extra series,
 *    in both exposition formats.
 *
 * Writes docs/benchmarks/metrics.md. Needs a Postgres: `--db-url URL`, or the local cluster
 * (`deno task db:start`).
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { runMain, StackError } from "../lib/command.ts";
import { startDevServer } from "../lib/dev_server_process.ts";
import { localApiKeys, localJwtSecret } from "../lib/local_keys.ts";
import { devCluster } from "../lib/pg_cluster.ts";
import { wrk, type WrkResult } from "../lib/wrk.ts";
import { parseExposition } from "../../supabase/functions/_shared/metrics/parse_exposition.ts";
import { createFunctionApp } from "../../supabase/functions/_shared/http/create_app.ts";
import { closeDb } from "../../supabase/functions/_shared/db/client.ts";
import { metricsPipeline } from "../../supabase/functions/_shared/metrics/pipeline.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TOKEN = "bench-metrics-token";
const BENCH_ROUTE = "/api/bench/";

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "db-url": { type: "string" },
      duration: { type: "string", default: "5" },
      rounds: { type: "string", default: "8" },
      connections: { type: "string", default: "50" },
      series: { type: "string", default: "10000" },
      scrapes: { type: "string", default: "20" },
    },
  });
  const dbUrl = values["db-url"] ?? devCluster().url();
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const seriesCount = Number(values.series);
  const scrapes = Number(values.scrapes);
  const keys = await localApiKeys(localJwtSecret());
  const apiHeaders = { apikey: keys.anon, authorization: `Bearer ${keys.anon}` };

  // `control` is a second `off` server: the on/off gap is judged against the off/control gap of
  // two identical servers in the same rounds, which is what the machine's noise alone produces.
  const servers = {
    on: await startServer(dbUrl, { COMPTOIR_METRICS: "on" }),
    off: await startServer(dbUrl, { COMPTOIR_METRICS: "off" }),
    control: await startServer(dbUrl, { COMPTOIR_METRICS: "off" }),
  };
  const routes = {
    liveness: { path: "/functions/v1/health/live", headers: {} },
    catalogue: { path: "/functions/v1/api/v1/categories", headers: apiHeaders },
  };
  const results = new Map<string, WrkResult[]>();
  let scrape: ScrapeTimes[] = [];
  let inProcess = { withMetricsUs: 0, withoutUs: 0, batches: 0, perBatch: 0 };
  try {
    for (const route of Object.values(routes)) {
      for (const server of Object.values(servers)) {
        await wrk(server.url + route.path, {
          connections,
          durationSeconds: 2,
          headers: route.headers,
        });
      }
    }
    for (let round = 1; round <= rounds; round++) {
      for (const [routeName, route] of Object.entries(routes)) {
        // Alternate which side goes first so neither always runs on a warmer machine.
        const order = round % 2
          ? (["on", "off", "control"] as const)
          : (["control", "off", "on"] as const);
        for (const mode of order) {
          const result = await wrk(servers[mode].url + route.path, {
            connections,
            durationSeconds: duration,
            headers: route.headers,
          });
          if (result.errors > 0) {
            throw new StackError(`${routeName} ${mode}: ${result.errors} errors`);
          }
          const key = `${routeName} ${mode}`;
          results.set(key, [...results.get(key) ?? [], result]);
          console.log(
            `round ${round} ${key.padEnd(14)} ${
              result.requestsPerSecond.toFixed(0).padStart(7)
            } req/s ` +
              `p50 ${result.p50Ms.toFixed(2)} ms p95 ${result.p95Ms.toFixed(2)} ms`,
          );
        }
      }
    }
    inProcess = await measureInProcess(dbUrl);
    scrape = await measureScrapes(dbUrl, servers.on.url, seriesCount, scrapes);
  } finally {
    await Promise.allSettled(Object.values(servers).map((server) => server.stop()));
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = (key: string) => {
    const rs = results.get(key)!;
    return {
      rps: median(rs.map((r) => r.requestsPerSecond)),
      p50: median(rs.map((r) => r.p50Ms)),
      p95: median(rs.map((r) => r.p95Ms)),
      p99: median(rs.map((r) => r.p99Ms)),
      perRound: rs.map((r) => r.requestsPerSecond),
    };
  };
  const throughputRows: string[] = [];
  const costRows: string[] = [];
  for (const routeName of Object.keys(routes)) {
    const on = summary(`${routeName} on`);
    const off = summary(`${routeName} off`);
    const control = summary(`${routeName} control`);
    for (const [mode, s] of [["off", off], ["on", on], ["off (control)", control]] as const) {
      throughputRows.push(
        `| ${routeName} | ${mode} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} | ${
          s.p95.toFixed(2)
        } | ${s.p99.toFixed(2)} | ${s.perRound.map((x) => x.toFixed(0)).join(", ")} |`,
      );
    }
    // Each round runs on and off back to back: the ratio within a round cancels most of the
    // machine's drift, so the judged figure is the median of the per-round losses.
    const losses = on.perRound.map((rps, i) => (1 - rps / off.perRound[i]) * 100);
    const noise = control.perRound.map((rps, i) => Math.abs(1 - rps / off.perRound[i]) * 100);
    const lost = median(losses);
    costRows.push(
      `| ${routeName} | ${lost.toFixed(1)}% | ${losses.map((x) => x.toFixed(1)).join(", ")} | ${
        median(noise).toFixed(1)
      }% | ${(on.p50 - off.p50).toFixed(2)} | ${(on.p95 - off.p95).toFixed(2)} | ${
        lost <= 5 ? "yes" : lost <= median(noise) ? "not distinguishable from noise" : "no"
      } |`,
    );
  }
  const scrapeRows = scrape.map((s) =>
    `| ${s.format} | ${s.series} | ${s.lines} | ${(s.bytes / 1024).toFixed(0)} | ${
      median(s.ms).toFixed(0)
    } | ${percentile(s.ms, 0.95).toFixed(0)} | ${Math.max(...s.ms).toFixed(0)} |`
  );

  const report = `# Metrics overhead and scrape time

Produced by \`deno task bench:metrics\` (scripts/bench/metrics.ts) on ${
    new Date().toISOString().slice(0, 10)
  },
on ${navigator.hardwareConcurrency} cores shared by the servers, wrk and PostgreSQL 15 (loopback).

## Cost on a hot route

Three dev servers on the same database, identical but for \`COMPTOIR_METRICS\` (\`on\`: the HTTP
middleware in every function, flushes every 5 s; \`off\` twice: no middleware, hooks do nothing), all
with rate limiting off (\`COMPTOIR_RATE_LIMIT_BACKEND=off\`: wrk is a single client). wrk,
${connections} connections, 2 threads, ${rounds} rounds of ${duration} s per route and mode after a 2 s
warm-up, the servers taking turns (the order reversed every other round); medians over rounds.

| route | metrics | req/s | p50 ms | p95 ms | p99 ms | req/s per round |
| --- | --- | ---: | ---: | ---: | ---: | --- |
${throughputRows.join("\n")}

Throughput lost with metrics on is the median over rounds of \`1 - on / off\` within each round;
the noise column is the median of \`|1 - control / off|\`, the gap between two identical servers
in the same rounds: a loss smaller than the noise is not a measured cost. The in-process
measurement below is the one that resolves a few microseconds.

| route | throughput lost | per round | noise (A/A) | p50 added ms | p95 added ms | within 5 % |
| --- | ---: | --- | ---: | ---: | ---: | --- |
${costRows.join("\n")}

## Cost per request, in process

The liveness handler in two apps made by \`createFunctionApp\` in this process: \`health\` (the
metrics middleware records every request into the isolate's registry and flushes to the database
every 5 s) and an identical app under a name outside the contract, whose middleware only passes
through. ${inProcess.batches} alternating batches of ${inProcess.perBatch} requests through
\`app.fetch\`; medians of the per-request time of each batch.

| app | µs per request |
| --- | ---: |
| with metrics | ${inProcess.withMetricsUs.toFixed(2)} |
| without | ${inProcess.withoutUs.toFixed(2)} |
| added by the metrics | ${(inProcess.withMetricsUs - inProcess.withoutUs).toFixed(2)} (${
    ((inProcess.withMetricsUs / inProcess.withoutUs - 1) * 100).toFixed(1)
  } % of the in-process request, ${
    ((inProcess.withMetricsUs - inProcess.withoutUs) / (1e6 / summary("liveness off").rps) * 100)
      .toFixed(1)
  } % of the time per request at the gateway's measured liveness throughput) |

## Scrape time with ${seriesCount.toLocaleString("en")} series

${
    seriesCount.toLocaleString("en")
  } extra \`comptoir_http_requests_total\` series written to the store (one
\`metrics.flush\` call), then ${scrapes} sequential scrapes of \`GET /functions/v1/metrics\` per format,
each including the isolate's own flush, \`select 1\`, \`metrics.scrape()\`, \`metrics.read_samples()\`
and rendering. The series are removed afterwards. Contract budget: 5 s (Prometheus times out at 10 s).

| format | extra series | lines | KiB | p50 ms | p95 ms | max ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
${scrapeRows.join("\n")}
`;
  await Deno.mkdir(`${ROOT}docs/benchmarks`, { recursive: true });
  await Deno.writeTextFile(`${ROOT}docs/benchmarks/metrics.md`, report);
  console.log(`\n${report}\nwritten to docs/benchmarks/metrics.md`);
});

/** Per-request time of the liveness route in process, with and without the metrics. */
async function measureInProcess(dbUrl: string) {
  // The pipeline's flushes go to the bench database, as a function's would.
  Deno.env.set("COMPTOIR_DB_URL", dbUrl);
  const withMetrics = createFunctionApp("health");
  withMetrics.get("/live", (c) => c.json({ status: "ok" }));
  const without = createFunctionApp("bench");
  without.get("/live", (c) => c.json({ status: "ok" }));
  const batch = async (app: typeof withMetrics, path: string, n: number) => {
    const started = performance.now();
    for (let i = 0; i < n; i++) await app.fetch(new Request(`http://localhost${path}`));
    return ((performance.now() - started) * 1000) / n;
  };
  const batches = 40;
  const perBatch = 5000;
  await batch(withMetrics, "/health/live", 20_000);
  await batch(without, "/bench/live", 20_000);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < batches; i++) {
    a.push(await batch(withMetrics, "/health/live", perBatch));
    b.push(await batch(without, "/bench/live", perBatch));
  }
  const { flusher } = metricsPipeline();
  await flusher.flush();
  flusher.close();
  await closeDb();
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const result = { withMetricsUs: median(a), withoutUs: median(b), batches, perBatch };
  console.log(
    `in process: ${result.withMetricsUs.toFixed(2)} us/req with metrics, ` +
      `${result.withoutUs.toFixed(2)} without`,
  );
  return result;
}

interface ScrapeTimes {
  format: string;
  series: number;
  lines: number;
  bytes: number;
  ms: number[];
}

async function measureScrapes(
  dbUrl: string,
  base: string,
  series: number,
  scrapes: number,
): Promise<ScrapeTimes[]> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = Array.from({ length: series }, (_, i) => [
      "comptoir_http_requests_total",
      `function="api",route="${BENCH_ROUTE}${i}",method="GET",status_class="2xx"`,
      "",
      "c",
      i + 1,
    ]);
    await sql`select metrics.flush('', ${sql.json(rows)})`;
    const out: ScrapeTimes[] = [];
    for (
      const [format, accept] of [
        ["text 0.0.4", "text/plain"],
        ["OpenMetrics 1.0", "application/openmetrics-text; version=1.0.0"],
      ]
    ) {
      const times: number[] = [];
      let text = "";
      for (let i = 0; i < scrapes; i++) {
        const started = performance.now();
        const res = await fetch(`${base}/functions/v1/metrics`, {
          headers: { authorization: `Bearer ${TOKEN}`, accept },
        });
        text = await res.text();
        times.push(performance.now() - started);
        if (res.status !== 200) throw new StackError(`metrics answered ${res.status}`);
      }
      const families = parseExposition(text, { openMetrics: format.startsWith("Open") });
      const lines = [...families.values()].reduce((n, f) => n + f.samples.length, 0);
      if (lines < series) throw new StackError(`scrape has ${lines} samples, expected ${series}+`);
      out.push({ format, series, lines, bytes: new TextEncoder().encode(text).length, ms: times });
      console.log(
        `scrape ${format}: p50 ${percentile(times, 0.5).toFixed(0)} ms, ${lines} samples`,
      );
    }
    return out;
  } finally {
    await sql`delete from metrics.samples where labels like ${`%route="${BENCH_ROUTE}%`}`;
    await sql.end();
  }
}

function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

function startServer(dbUrl: string, env: Record<string, string>) {
  // Rate limiting off: wrk is one client address, and what is measured is the metrics' cost.
  return startDevServer({
    dbUrl,
    quiet: true,
    env: {
      COMPTOIR_DB_POOL_MAX: "10",
      COMPTOIR_METRICS_TOKEN: TOKEN,
      COMPTOIR_RATE_LIMIT_BACKEND: "off",
      ...env,
    },
  });
}
