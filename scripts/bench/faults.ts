/**
 * `deno task bench:faults`: runs the fault scenarios of the tests (scripts/lib/fault_scenarios.ts)
 * `--runs` times each against a throwaway local cluster — immediate shutdowns, backends terminated
 * mid-transaction, connections reset by a proxy, the database gone during rate-limit checks and
 * metric flushes — with ten clients placing orders, and writes docs/benchmarks/reliability.md: how
 * many injections of which kind, how many requests and their answers, what was lost or doubled,
 * and how long the service took to place orders again once Postgres was back.
 *
 * The cluster is its own (`--pg-port`, default 54362; data under .local/faults-postgres), because
 * the benchmark kills it over and over.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain, StackError } from "../lib/command.ts";
import { type FaultKind, type FaultReport, runFaultScenario } from "../lib/fault_scenarios.ts";
import { applyCompat, migrateUrl } from "../lib/migrate.ts";
import { clusterDataDir, PgCluster } from "../lib/pg_cluster.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const KINDS: FaultKind[] = ["immediate", "terminate", "reset", "limiter"];
const DESCRIPTION: Record<FaultKind, string> = {
  immediate: "`pg_ctl stop -m immediate`, restart once the breaker refuses",
  terminate: "`pg_terminate_backend` of the functions' backends with a transaction running",
  reset: "TCP proxy resets (RST) every connection while place_order runs",
  limiter: "immediate shutdown, Postgres rate-limit backend on, metrics flushed every 100 ms",
};

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "3" },
      clients: { type: "string", default: "10" },
      "pg-port": { type: "string", default: "54362" },
      out: { type: "string", default: `${ROOT}docs/benchmarks/reliability.md` },
    },
  });
  const runs = Number(values.runs);
  const clients = Number(values.clients);
  const port = Number(values["pg-port"]);
  if (!Number.isInteger(runs) || runs < 1) throw new StackError("bad --runs");
  if (!Number.isInteger(clients) || clients < 1) throw new StackError("bad --clients");
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StackError("bad --pg-port");

  const cluster = new PgCluster({ dataDir: clusterDataDir("faults-postgres"), port });
  await cluster.destroy();
  await cluster.start();
  await applyCompat(cluster.url());
  await migrateUrl(cluster.url());
  const reports: FaultReport[] = [];
  const started = Date.now();
  try {
    for (let run = 1; run <= runs; run++) {
      for (const kind of KINDS) {
        console.log(`run ${run}/${runs}: ${kind}`);
        const report = await runFaultScenario({
          kind,
          cluster,
          clients,
          rounds: kind === "limiter" ? 2 : 3,
          placeOrderDelaySeconds: kind === "immediate" || kind === "limiter" ? 0.02 : 0.05,
          log: (line) => console.log(`  ${line}`),
        });
        reports.push(report);
        console.log(`  ${summaryLine(report)}`);
      }
    }
  } finally {
    await cluster.destroy();
  }
  const markdown = render(reports, { runs, clients, seconds: (Date.now() - started) / 1000 });
  await Deno.writeTextFile(values.out, markdown);
  console.log(`\nwrote ${values.out}`);
  const broken = reports.filter((r) => problems(r) > 0);
  if (broken.length > 0) throw new StackError(`${broken.length} scenarios lost or broke something`);
});

function problems(r: FaultReport): number {
  return r.lost.length + r.duplicated.length + r.invariantViolations.length + r.badRetries.length +
    r.badAnswers.length + r.crashOutput.length + (r.servingAfterwards ? 0 : 1);
}

function summaryLine(r: FaultReport): string {
  return `${r.injections} injections, answers ${JSON.stringify(r.byStatus)}, ` +
    `replayed ${r.replayed}, lost ${r.lost.length}, duplicated ${r.duplicated.length}, ` +
    `violations ${r.invariantViolations.length}, serving afterwards ${r.servingAfterwards}`;
}

function render(
  reports: FaultReport[],
  { runs, clients, seconds }: { runs: number; clients: number; seconds: number },
): string {
  const rows = KINDS.map((kind) => {
    const of = reports.filter((r) => r.kind === kind);
    const sum = (f: (r: FaultReport) => number) => of.reduce((n, r) => n + f(r), 0);
    const status = (code: string) => sum((r) => r.byStatus[code] ?? 0);
    const requests = sum((r) => r.attempts.length);
    return `| ${kind} | ${DESCRIPTION[kind]} | ${of.length} | ${sum((r) => r.injections)} | ${
      sum((r) => r.midTransaction)
    } | ${requests} | ${status("201")} | ${status("200")} | ${status("503")} | ${
      requests - status("201") - status("200") - status("503")
    } | ${sum((r) => r.fastRefusals)} | ${sum((r) => r.failClosed)} | ${sum((r) => r.replayed)} | ${
      sum((r) => r.placedOnRetry)
    } | ${sum((r) => r.lost.length)} | ${sum((r) => r.duplicated.length)} | ${
      sum((r) => r.invariantViolations.length + r.badRetries.length + r.badAnswers.length)
    } | ${
      of.filter((r) => r.servingAfterwards && r.crashOutput.length === 0).length
    }/${of.length} |`;
  });
  const recovery = reports.flatMap((r) => r.recoveryMs).sort((a, b) => a - b);
  const median = recovery.length === 0
    ? NaN
    : recovery.length % 2
    ? recovery[(recovery.length - 1) / 2]
    : (recovery[recovery.length / 2 - 1] + recovery[recovery.length / 2]) / 2;
  const total = (f: (r: FaultReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  return `# Reliability under database faults

Written by \`deno task bench:faults\` (scripts/bench/faults.ts) on ${new Date().toISOString()}:
${runs} run(s) of every scenario, ${clients} clients placing orders (each with its own user and a
fresh \`Idempotency-Key\` per order) through the local gateway (\`scripts/dev.ts --db-url\`) on a
local PostgreSQL 15, postgres.js ${driverVersion()}, database breaker open period 1 s, ${
    seconds.toFixed(0)
  } s in all. Machine: 2 cores, loopback; the figures are counts, not speeds.

Each scenario is the one the fault tests run (tests/faults/): after the faults, every request
whose answer was not 201 is retried with its key until it is not a 503; a key whose order was
committed while its answer was lost must get it back (200, \`Idempotent-Replayed: true\`), any other
key a new order (201). Then every key must have exactly one order, every order must have lines
whose quantities and prices add up to its \`item_count\`, subtotal and total, and the stock reserved
for each of the scenario's products must equal the quantities of its pending orders.

| kind | fault | scenarios | injections | mid-transaction | requests | 201 | 200 | 503 | other | breaker refusals | fail-closed 503 | replayed | placed on retry | lost | duplicated | other violations | process serving afterwards |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}

Totals: ${total((r) => r.injections)} injections, ${
    total((r) => r.attempts.length)
  } requests; lost ${total((r) => r.lost.length)}, duplicated ${
    total((r) => r.duplicated.length)
  }, invariant violations ${total((r) => r.invariantViolations.length)}, requests with no answer ${
    total((r) => r.byStatus["0"] ?? 0)
  }, crashes ${reports.filter((r) => r.crashOutput.length > 0 || !r.servingAfterwards).length}.

- *injections*: outages for \`immediate\` and \`limiter\`; backends terminated for \`terminate\`;
  connections reset for \`reset\`. *mid-transaction*: terminated backends that were running
  place_order, and resets made while one was.
- *requests* count the load and the retries; *200* are replays (catalog reads in \`limiter\` too).
  Every 503 is \`application/problem+json\` with \`Retry-After\` (the tests fail otherwise);
  *breaker refusals* are the 503 \`dependency-unavailable\` answers, *fail-closed 503* the
  \`rate-limit-unavailable\` answers of order placement while the rate-limit store was down; the
  catalog's fail-open policy refused ${
    total((r) => r.failClosedOnOpenRoutes)
  } reads that way (they went on to the database, and got its 503 while it was down).
- *replayed*: orders committed while their answer was lost, given back on retry.

## Recovery after Postgres is back

Time from \`pg_ctl start\` returning (Postgres accepts connections) to the first order placed, over
${recovery.length} outages (\`immediate\` and \`limiter\`): min ${fmt(recovery[0])} ms, median ${
    fmt(median)
  } ms, max ${
    fmt(recovery.at(-1))
  } ms. The breaker stays open 1 s here (\`COMPTOIR_DB_BREAKER_OPEN_MS\`;
10 s by default, which bounds recovery at about 10 s plus one reconnect).
`;
}

function fmt(ms: number | undefined): string {
  return ms === undefined || Number.isNaN(ms) ? "-" : ms.toFixed(0);
}

function driverVersion(): string {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
  return String(config.imports.postgres).replace(/^npm:postgres@/, "");
}
