/**
 * `deno task bench:export [--db-url URL] [--reps N]`: the `export` function against the machine's
 * ceiling, in one run, on a database holding at least 1,000,000 orders (`deno task seed --scale
 * 1000`):
 *
 * - the ceiling: `psql`'s `\copy` of the very statement the function sends for a CSV export of
 *   every order (query.ts), to /dev/null;
 * - the function, through the local gateway with rate limiting, the concurrency limit, audit events
 *   and metrics on, read by curl to /dev/null for CSV, JSON Lines and gzip CSV (curl does not
 *   decode the gzip: the bytes counted are the compressed ones), following `Link: rel="next"`
 *   until the export is complete.
 *
 * For each: rows/s over the whole export, time to first byte of the first page, and for the
 * function the peak RSS of the serving process above its idle RSS just before the export, and its
 * CPU time. Rounds alternate the variants so machine noise spreads over all of them; medians are
 * reported. Writes docs/benchmarks/export.md.
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { runMain, spawn, StackError } from "../lib/command.ts";
import { startDevServer } from "../lib/dev_server_process.ts";
import { devCluster } from "../lib/pg_cluster.ts";
import { PG_BIN } from "../lib/executables.ts";
import { RESOURCES } from "../../supabase/functions/export/resources.ts";
import { pageStatements } from "../../supabase/functions/export/query.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

interface Run {
  rows: number;
  bytes: number;
  pages: number;
  seconds: number;
  ttfbMs?: number;
  peakRssMb?: number;
  cpuSeconds?: number;
}

const VARIANTS = [
  "psql \\copy (ceiling)",
  "function CSV",
  "function JSON Lines",
  "function gzip CSV",
];

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "db-url": { type: "string" }, reps: { type: "string", default: "3" } },
  });
  const dbUrl = values["db-url"] ?? devCluster().url();
  const reps = Number(values.reps);
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  const [{ n: orders }] = await sql`select count(*)::int as n from public.orders`;
  await sql.end();
  if (orders < 1_000_000) {
    throw new StackError(
      `the database holds ${orders} orders; seed 1,000,000 first: deno task seed --scale 1000`,
    );
  }

  const server = await startDevServer({
    dbUrl,
    quiet: true,
    env: {
      // The export policy allows 20 exports an hour per caller; the benchmark makes more.
      COMPTOIR_RATE_LIMITS: JSON.stringify({ export: { limit: 100_000 } }),
    },
  });
  const results = new Map<string, Run[]>(VARIANTS.map((v) => [v, []]));
  try {
    // Warm-up: the function's first request loads its modules and fills the pool.
    await exportAll(server.url, server.serviceRoleKey, "csv", false, server.pid, orders);
    for (let rep = 1; rep <= reps; rep++) {
      results.get(VARIANTS[0])!.push(await psqlCopy(dbUrl, orders));
      results.get(VARIANTS[1])!.push(
        await exportAll(server.url, server.serviceRoleKey, "csv", false, server.pid, orders),
      );
      results.get(VARIANTS[2])!.push(
        await exportAll(server.url, server.serviceRoleKey, "jsonl", false, server.pid, orders),
      );
      results.get(VARIANTS[3])!.push(
        await exportAll(server.url, server.serviceRoleKey, "csv", true, server.pid, orders),
      );
      console.log(`round ${rep}/${reps} done`);
    }
  } finally {
    await server.stop();
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  };
  const ceiling = median(results.get(VARIANTS[0])!.map((r) => r.rows / r.seconds));
  const rowsOf = (v: string) => results.get(v)!;
  const lines = VARIANTS.map((variant) => {
    const runs = rowsOf(variant);
    const rate = median(runs.map((r) => r.rows / r.seconds));
    const ttfb = runs[0].ttfbMs === undefined ? "—" : median(runs.map((r) => r.ttfbMs!)).toFixed(0);
    const rss = runs[0].peakRssMb === undefined
      ? "—"
      : median(runs.map((r) => r.peakRssMb!)).toFixed(1);
    const cpu = runs[0].cpuSeconds === undefined
      ? "—"
      : median(runs.map((r) => r.cpuSeconds!)).toFixed(2);
    return `| ${variant} | ${runs[0].rows.toLocaleString("en")} | ${runs[0].pages} | ${
      Number.isNaN(runs[0].bytes) ? "—" : (median(runs.map((r) => r.bytes)) / 1e6).toFixed(1)
    } | ${median(runs.map((r) => r.seconds)).toFixed(2)} | ${
      Math.round(rate).toLocaleString("en")
    } | ${(100 * rate / ceiling).toFixed(0)} % | ${ttfb} | ${rss} | ${cpu} |`;
  });
  const csvRate = median(rowsOf(VARIANTS[1]).map((r) => r.rows / r.seconds));
  const csvTtfb = median(rowsOf(VARIANTS[1]).map((r) => r.ttfbMs!));
  const worstRss = Math.max(
    ...VARIANTS.slice(1).flatMap((v) => rowsOf(v).map((r) => r.peakRssMb!)),
  );
  const worstTtfb = Math.max(
    ...VARIANTS.slice(1).map((v) => median(rowsOf(v).map((r) => r.ttfbMs!))),
  );
  const verdict = (ok: boolean) => ok ? "met" : "**missed**";
  const report = `# Export benchmark

Produced by \`deno task bench:export --reps ${reps}\` on ${
    new Date().toISOString().slice(0, 10)
  }: ${orders.toLocaleString("en")} orders, ${reps} rounds (median of each), variants alternated
within each round. The machine has 2 cores shared with other work running at the same time (test
suites and benchmarks of other branches): absolute figures are noisy, the ratios of one run are
the comparison.

- **psql \\copy**: the exact \`COPY … TO STDOUT\` statement the function sends for a CSV export
  of every order, run by \`psql\` to /dev/null: the physical limit of this machine.
- **function**: \`GET /functions/v1/export/orders\` as the service role through the local gateway,
  with the export rate limit (raised for the benchmark), the per-caller concurrency limit, an audit
  event per page and the metrics on, read by curl to /dev/null, following \`Link: rel="next"\`
  (pages of 500,000 rows, the default). Gzip is compressed by the function and not decoded by curl.
- **TTFB**: curl's time to the first byte of the first page. **Peak RSS**: the serving process's
  highest resident set size, sampled every 5 ms, minus its RSS just before the export started.
  **CPU**: user + system seconds of the serving process during the export.

| variant | rows | pages | MB sent | seconds | rows/s | of ceiling | TTFB ms | peak RSS above idle MB | CPU s |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${lines.join("\n")}

## Targets

| target | measured | |
| --- | --- | --- |
| CSV ≥ 50 % of the psql ceiling | ${(100 * csvRate / ceiling).toFixed(0)} % | ${
    verdict(csvRate >= 0.5 * ceiling)
  } |
| CSV ≥ 150,000 rows/s | ${Math.round(csvRate).toLocaleString("en")} rows/s | ${
    verdict(csvRate >= 150_000)
  } |
| time to first byte ≤ 100 ms (CSV / worst format) | ${csvTtfb.toFixed(0)} ms / ${
    worstTtfb.toFixed(0)
  } ms | ${verdict(worstTtfb <= 100)} |
| ≤ 64 MB above baseline for the whole million (worst run) | ${worstRss.toFixed(1)} MB | ${
    verdict(worstRss <= 64)
  } |

Supabase Studio, the anchor to beat, pages 500 rows per call (about 500 rows/s reported) and caps an
export at 500,000 rows.
`;
  await Deno.mkdir(`${ROOT}docs/benchmarks`, { recursive: true });
  await Deno.writeTextFile(`${ROOT}docs/benchmarks/export.md`, report);
  console.log(report);
});

/** psql's \copy of the function's own CSV statement for every order. */
async function psqlCopy(dbUrl: string, rows: number): Promise<Run> {
  const page = pageStatements({ resource: RESOURCES.orders, filters: {}, pageRows: rows });
  const statement = page.copy("csv", { delimiter: ",", header: true }, undefined).text;
  const meta = statement.replace(/^copy /, "\\copy ").replace(" to stdout ", " to '/dev/null' ");
  const started = performance.now();
  const child = spawn(`${PG_BIN}/psql`, {
    args: [dbUrl, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", meta],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await child.output();
  const seconds = (performance.now() - started) / 1000;
  if (out.code !== 0) throw new StackError(`psql failed: ${new TextDecoder().decode(out.stderr)}`);
  return { rows, bytes: NaN, pages: 1, seconds };
}

function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  // utime and stime are fields 14 and 15 of stat (12 and 13 after the command name).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Exports every order through the function with curl, following the Link header. */
async function exportAll(
  base: string,
  token: string,
  format: "csv" | "jsonl",
  gzip: boolean,
  pid: number,
  expectedRows: number,
): Promise<Run> {
  await new Promise((r) => setTimeout(r, 500));
  const idle = rssMb(pid);
  let peak = idle;
  const sampler = setInterval(() => peak = Math.max(peak, rssMb(pid)), 5);
  const cpuBefore = cpuSeconds(pid);
  const headersFile = await Deno.makeTempFile();
  let next: string | undefined = `/functions/v1/export/orders?format=${format}`;
  let rows = 0;
  let bytes = 0;
  let pages = 0;
  let ttfbMs: number | undefined;
  const started = performance.now();
  try {
    while (next) {
      const args = [
        "-s",
        "-o",
        "/dev/null",
        "-D",
        headersFile,
        "-w",
        "%{http_code} %{time_starttransfer} %{size_download}",
        "-H",
        `authorization: Bearer ${token}`,
      ];
      if (gzip) args.push("-H", "accept-encoding: gzip");
      const out = await spawn("curl", { args: [...args, base + next], stdout: "piped" }).output();
      const [status, ttfb, size] = new TextDecoder().decode(out.stdout).split(" ");
      if (status !== "200") throw new StackError(`export answered ${status}`);
      ttfbMs ??= Number(ttfb) * 1000;
      bytes += Number(size);
      pages++;
      const headers = await Deno.readTextFile(headersFile);
      rows += Number(/^x-export-rows: (\d+)/im.exec(headers)?.[1] ?? NaN);
      if (gzip && !/^content-encoding: gzip/im.test(headers)) {
        throw new StackError("the gzip export was not compressed");
      }
      next = /^link: <([^>]+)>; rel="next"/im.exec(headers)?.[1];
    }
  } finally {
    clearInterval(sampler);
    await Deno.remove(headersFile);
  }
  const seconds = (performance.now() - started) / 1000;
  peak = Math.max(peak, rssMb(pid));
  if (rows !== expectedRows) {
    throw new StackError(`the export gave ${rows} rows, expected ${expectedRows}`);
  }
  return {
    rows,
    bytes,
    pages,
    seconds,
    ttfbMs,
    peakRssMb: peak - idle,
    cpuSeconds: cpuSeconds(pid) - cpuBefore,
  };
}
