/**
 * `deno task cost:estimate`: what monitoring comptoir costs a month run by the team (Prometheus +
 * Alertmanager), on Grafana Cloud, on New Relic and on Datadog, from the team's numbers (options)
 * and the dated, sourced price inputs of `scripts/lib/monitoring_cost.ts` (`--price NAME=VALUE`,
 * repeatable, replaces one). `--metrics-url` (with `--token`) counts the series of a running
 * metrics function instead of `--series`; `--report` writes docs/benchmarks/monitoring-cost.md.
 * Every option: `--help`.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain, StackError } from "./lib/command.ts";
import { localMetricsToken } from "./lib/local_keys.ts";
import {
  type CostLine,
  DEFAULT_TEAM,
  estimateMonitoringCost,
  PRICES,
  type PriceValues,
  priceValues,
  samplesPerMonth,
  type TeamInputs,
} from "./lib/monitoring_cost.ts";
import { parseExposition } from "../supabase/functions/_shared/metrics/parse_exposition.ts";

/** Option name → team field, with what it means. */
const OPTIONS: Record<string, [keyof TeamInputs, string]> = {
  series: ["series", "active series the shop exposes"],
  "scrape-interval": ["scrapeIntervalSeconds", "scrape interval, seconds"],
  "ingest-bytes-per-sample": ["ingestBytesPerSample", "bytes a SaaS bills per sample"],
  "retention-days": ["retentionDays", "days of history kept (self-hosted disk)"],
  "datadog-hosts": ["datadogHosts", "hosts running a Datadog agent"],
  "newrelic-users": ["newRelicFullUsers", "people needing full New Relic access"],
  "grafana-users": ["grafanaUsers", "people logging in to Grafana Cloud in a month"],
  "vm-usd": ["vmUsdPerMonth", "USD per month of the Prometheus machine"],
  "disk-usd-per-gb": ["diskUsdPerGbMonth", "USD per GB-month of disk"],
  "ops-hours": ["opsHoursPerMonth", "hours of upkeep a month when self-hosting"],
  "hourly-usd": ["hourlyUsd", "USD an hour of the team costs"],
};
const REPORT = new URL("../docs/benchmarks/monitoring-cost.md", import.meta.url);

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      ...Object.fromEntries(
        Object.keys(OPTIONS).map((name) => [name, { type: "string" as const }]),
      ),
      "metrics-url": { type: "string" },
      token: { type: "string" },
      price: { type: "string", multiple: true },
      report: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("deno task cost:estimate [options]\n");
    for (const [name, [field, what]] of Object.entries(OPTIONS)) {
      console.log(`  --${name.padEnd(24)} ${what} (default ${DEFAULT_TEAM[field]})`);
    }
    console.log(
      `  --${"metrics-url URL".padEnd(24)} count the series of a running metrics function`,
    );
    console.log(`  --${"token T".padEnd(24)} its bearer token (default: the local stack's)`);
    console.log(`  --${"price NAME=VALUE".padEnd(24)} replace a price input (repeatable):`);
    for (const [name, p] of Object.entries(PRICES)) {
      console.log(`      ${name.padEnd(30)} ${p.value} ${p.unit} [${p.status}]`);
    }
    console.log(`  --${"report".padEnd(24)} write docs/benchmarks/monitoring-cost.md`);
    return;
  }
  const team: TeamInputs = { ...DEFAULT_TEAM };
  const given: string[] = [];
  for (const [name, [field]] of Object.entries(OPTIONS)) {
    const raw = (values as Record<string, unknown>)[name];
    if (typeof raw !== "string") continue;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0) throw new StackError(`--${name} must be a number >= 0`);
    team[field] = n;
    given.push(`--${name} ${raw}`);
  }
  let seriesSource = given.some((g) => g.startsWith("--series ")) ? "--series" : "default";
  if (values["metrics-url"]) {
    team.series = await countSeries(values["metrics-url"], values.token ?? localMetricsToken());
    seriesSource = `scrape of ${values["metrics-url"]}`;
    given.push(`--metrics-url ${values["metrics-url"]}`);
  }
  const overrides: Record<string, number> = {};
  for (const assignment of values.price ?? []) {
    const match = /^([A-Za-z]+)=(.+)$/.exec(assignment);
    if (!match) throw new StackError(`--price takes NAME=VALUE, got ${assignment}`);
    overrides[match[1]] = Number(match[2]);
    given.push(`--price ${assignment}`);
  }
  let prices: PriceValues;
  try {
    prices = priceValues(overrides);
  } catch (err) {
    throw new StackError(err instanceof Error ? err.message : String(err));
  }
  const lines = estimateMonitoringCost(team, prices);
  const text = render(team, lines, seriesSource, given, prices, Object.keys(overrides));
  console.log(text);
  if (values.report) {
    await Deno.writeTextFile(REPORT, text + "\n");
    console.log(`\nwritten to docs/benchmarks/monitoring-cost.md`);
  }
});

/** Series in one scrape: every sample line of every family. */
async function countSeries(url: string, token: string): Promise<number> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  if (!res.ok) throw new StackError(`${url} answered ${res.status}: ${body.slice(0, 200)}`);
  let series = 0;
  for (const family of parseExposition(body).values()) series += family.samples.length;
  return series;
}

function usd(n: number): string {
  return n.toLocaleString("en-US", {
    style: "currency",
    currency: "USD",
    maximumFractionDigits: 2,
  });
}

function render(
  team: TeamInputs,
  lines: CostLine[],
  seriesSource: string,
  given: string[],
  prices: PriceValues,
  overridden: string[],
): string {
  const out: string[] = [];
  out.push("# Monitoring cost: self-hosted Prometheus, Grafana Cloud, New Relic, Datadog", "");
  out.push(
    `Written by \`deno task cost:estimate ${[...given, "--report"].join(" ")}\` on ` +
      `${new Date().toISOString().slice(0, 10)}. List prices per month, before ` +
      "discounts or commitments; recompute with your own numbers (`--help` lists them).",
    "",
  );
  out.push("## Team numbers", "", "| input | value |", "| --- | ---: |");
  for (const [name, [field, what]] of Object.entries(OPTIONS)) {
    const source = field === "series" ? ` (${seriesSource})` : "";
    out.push(`| ${what} (\`--${name}\`)${source} | ${team[field]} |`);
  }
  out.push(
    `| samples a month (series × 30 days ÷ interval) | ${
      Math.round(samplesPerMonth(team)).toLocaleString("en-US")
    } |`,
    "",
  );
  out.push(
    "## Price inputs",
    "",
    "Status: `vendor` read on the vendor's own page, `secondary` on a page quoting the vendor's " +
      "price list, `unconfirmed` not found in a current source — a placeholder to replace with " +
      "`--price NAME=VALUE`.",
    "",
    "| input | value | unit | status | source | read on |",
    "| --- | ---: | --- | --- | --- | --- |",
  );
  for (const [name, p] of Object.entries(PRICES)) {
    const note = "note" in p ? ` — ${p.note}` : "";
    const value = overridden.includes(name)
      ? `${prices[name as keyof PriceValues]} (\`--price\`; listed ${p.value})`
      : String(p.value);
    out.push(
      `| ${name} | ${value} | ${p.unit}${note} | ${p.status} | ${p.source} | ${p.readOn} |`,
    );
  }
  out.push("", "## Monthly cost", "", "| option | per month | made of |", "| --- | ---: | --- |");
  for (const line of lines) {
    out.push(
      `| ${line.option} | ${usd(line.monthlyUsd)} | ${
        line.parts.map((p) => `${p.what}: ${usd(p.usd)}`).join("; ")
      } |`,
    );
  }
  return out.join("\n");
}
