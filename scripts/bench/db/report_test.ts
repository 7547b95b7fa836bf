import assert from "node:assert/strict";
import {
  type BenchReport,
  gain,
  meets,
  type OperationResult,
  renderMarkdown,
  renderSvg,
} from "./report.ts";
import type { Stats } from "./timing.ts";

const stats = (p95: number): Stats => ({ n: 10, p50: p95 / 2, p95, max: p95 * 2, mean: p95 / 2 });
const op = (name: string, base: number, optimized: number): OperationResult => ({
  name,
  description: `${name} calls`,
  base: stats(base),
  optimized: stats(optimized),
  target: { p95Ms: 2, gainPct: 90, whenMissed: `why ${name} missed` },
  basePlans: [{ ms: 12, summary: "Seq Scan on products [100 rows]" }],
  optimizedPlans: [],
  compared: 5,
  differing: 0,
});

const report: BenchReport = {
  date: "2026-11-26 12:00 UTC",
  machine: "2 CPU cores, linux",
  load: [1.5, 2.5],
  postgres: "PostgreSQL 15.18",
  data: {
    scale: 1,
    seed: 42,
    end: "2026-11-26T00:00:00.000Z",
    days: 365,
    orders: 1000,
    products: 100,
    categories: 12,
    customers: 100,
  },
  counts: { orders: 1000, order_items: 3000, products: 100, categories: 12, customers: 100 },
  sizes: { base: 1048576, optimized: 2097152, added: [{ name: "public.x_idx", bytes: 1048576 }] },
  operations: [op("fast one", 100, 1), op("slow one", 10, 5)],
  extras: [],
  throughput: [
    { store: "cache (UNLOGGED)", operation: "set", clients: 1, tps: 4000, latencyMs: 0.25 },
    { store: "plain logged table", operation: "set", clients: 1, tps: 400, latencyMs: 2.5 },
  ],
  throughputSeconds: 5,
  rounds: 3,
  refreshes: [{ view: "products_stats", rows: 100, runs: [30, 10, 20] }],
  migrations: [],
  command: "deno task bench:db",
};

Deno.test("gain() compares medians and p95s and meets() checks both targets", () => {
  assert.deepEqual(gain(stats(100), stats(1)), { speedup: 100, gainPct: 99, gainP95Pct: 99 });
  assert.deepEqual(meets(op("a", 100, 1)), { latency: true, gain: true });
  assert.deepEqual(meets(op("b", 10, 5)), { latency: false, gain: false });
});

Deno.test("renderMarkdown() reports figures, misses with their reason, and throughput ratios", () => {
  const md = renderMarkdown(report, "database.svg");
  assert.match(
    md,
    /\| fast one \| 10 \| 50\.0 \/ 100 \/ 200 \| 0\.50 \/ 1\.00 \/ 2\.00 \| - \| 100\.0× \| 99\.0 % \/ 99\.0 % \|/,
  );
  assert.match(md, /\*\*slow one\*\*: optimised p95 5\.00 ms .* why slow one missed/);
  assert.doesNotMatch(md, /\*\*fast one\*\*/);
  assert.match(md, /\| set \| 1 \| 4,000 \| 400 \| 10\.00 \|/);
  assert.match(md, /\| products_stats \| 100 \| 3 \| 10\.0 \| 20\.0 \| 30\.0 \|/);
  assert.match(md, /!\[.*\]\(database\.svg\)/);
});

Deno.test("renderSvg() draws two bars per operation and a target line", () => {
  const svg = renderSvg(report);
  assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
  assert.equal(svg.match(/height="16"/g)?.length, 4, "two bars per operation");
  assert.equal(svg.match(/stroke-dasharray/g)?.length, 2);
  assert.match(svg, />fast one</);
});
