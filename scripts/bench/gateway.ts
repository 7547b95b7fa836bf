/**
 * `deno task bench`: the local gateway's overhead. In one run, on the same database, loads with wrk
 * (50 connections, 2 threads) the health function served bare by Deno.serve and the same function
 * behind the gateway (`/functions/v1/health`), for readiness (one `select 1`) and liveness (no I/O),
 * alternating rounds so machine noise hits both sides alike. Writes docs/benchmarks/gateway.md.
 * Needs a Postgres: `--db-url URL`, or the local cluster (`deno task db:start`).
 * @module
 */
import { parseArgs } from "node:util";
import { runMain, StackError } from "../lib/command.ts";
import { freePort } from "../lib/dev_stack.ts";
import { startDevServer } from "../lib/dev_server_process.ts";
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
    },
  });
  const dbUrl = values["db-url"] ?? devCluster().url();
  const duration = Number(values.duration);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);

  const barePort = freePort();
  const bare = await spawnUntil(
    ["run", "-A", "scripts/bench/serve_bare.ts", String(barePort)],
    { COMPTOIR_DB_URL: dbUrl, COMPTOIR_DB_POOL_MAX: "10" },
    "bare health on",
  );
  const gateway = await startDevServer({
    dbUrl,
    quiet: true,
    env: { COMPTOIR_DB_POOL_MAX: "10" },
  });
  const targets = {
    "readiness, bare Deno.serve": `http://127.0.0.1:${barePort}/health`,
    "readiness, through gateway": `${gateway.url}/functions/v1/health`,
    "liveness, bare Deno.serve": `http://127.0.0.1:${barePort}/health/live`,
    "liveness, through gateway": `${gateway.url}/functions/v1/health/live`,
  };
  const results = new Map<string, WrkResult[]>();
  try {
    for (const url of Object.values(targets)) {
      await wrk(url, { connections, durationSeconds: 2 }); // warm-up
    }
    for (let round = 1; round <= rounds; round++) {
      for (const [name, url] of Object.entries(targets)) {
        const result = await wrk(url, { connections, durationSeconds: duration });
        if (result.errors > 0) throw new StackError(`${name}: ${result.errors} errors under load`);
        results.set(name, [...results.get(name) ?? [], result]);
        console.log(
          `round ${round} ${name.padEnd(28)} ${
            result.requestsPerSecond.toFixed(0).padStart(7)
          } req/s ` +
            `p50 ${result.p50Ms.toFixed(2)} ms p95 ${result.p95Ms.toFixed(2)} ms`,
        );
      }
    }
  } finally {
    bare.kill();
    await gateway.stop();
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = Object.keys(targets).map((name) => {
    const rs = results.get(name)!;
    return {
      name,
      rps: median(rs.map((r) => r.requestsPerSecond)),
      p50: median(rs.map((r) => r.p50Ms)),
      p95: median(rs.map((r) => r.p95Ms)),
      p99: median(rs.map((r) => r.p99Ms)),
    };
  });
  const row = (s: (typeof summary)[number]) =>
    `| ${s.name} | ${s.rps.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p95.toFixed(2)} | ${
      s.p99.toFixed(2)
    } |`;
  const byName = Object.fromEntries(summary.map((s) => [s.name, s]));
  const overhead = (kind: string) => {
    const b = byName[`${kind}, bare Deno.serve`];
    const g = byName[`${kind}, through gateway`];
    return `| ${kind} | ${(g.p50 - b.p50).toFixed(2)} | ${(g.p95 - b.p95).toFixed(2)} | ${
      ((1 - g.rps / b.rps) * 100).toFixed(1)
    }% |`;
  };
  const report = `# Gateway overhead

Produced by \`deno task bench\` (scripts/bench/gateway.ts) on ${
    new Date().toISOString().slice(0, 10)
  }:
wrk, ${connections} connections, 2 threads, ${rounds} alternating rounds of ${duration} s per target after a
2 s warm-up; medians over rounds. Server and load generator share the same ${navigator.hardwareConcurrency}
cores, on loopback, against a local PostgreSQL 15 (pool of 10 connections). Readiness runs one
\`select 1\`; liveness does no I/O.

| target | req/s | p50 ms | p95 ms | p99 ms |
| --- | ---: | ---: | ---: | ---: |
${summary.map(row).join("\n")}

Added by the gateway (through gateway minus bare, same run):

| route | p50 added ms | p95 added ms | throughput lost |
| --- | ---: | ---: | ---: |
${overhead("readiness")}
${overhead("liveness")}
`;
  await Deno.mkdir(`${ROOT}docs/benchmarks`, { recursive: true });
  await Deno.writeTextFile(`${ROOT}docs/benchmarks/gateway.md`, report);
  console.log(`\n${report}\nwritten to docs/benchmarks/gateway.md`);
});

async function spawnUntil(args: string[], env: Record<string, string>, ready: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes(ready)) {
    const { value, done } = await reader.read();
    if (done) throw new StackError(`${args.join(" ")} exited before it was ready:\n${text}`);
    text += value;
  }
  // Keep draining so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return child;
}
