import assert from "node:assert/strict";
import {
  codeOf,
  emissionSites,
  emittedFamilies,
  isUsed,
  migrations,
  productionModules,
  type SourceFile,
} from "./emitters.ts";
import {
  loadAlertRules,
  loadContract,
  loadDashboards,
  loadRecordingRules,
  metricNames,
  panelQueries,
  ROOT,
  substituteGrafanaVariables,
} from "./monitoring_files.ts";

const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

async function emitted(): Promise<Map<string, string>> {
  return emittedFamilies(
    await productionModules(`${ROOT}supabase/functions`, ROOT),
    await migrations(`${ROOT}supabase/migrations`, ROOT),
  );
}

/** Every metric a rule or a dashboard reads, with who reads it. */
async function readers(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const add = (name: string, who: string) => out.set(name, [...(out.get(name) ?? []), who]);
  for (const rule of await loadRecordingRules()) {
    for (const name of metricNames(rule.expr)) add(name, `record ${rule.record}`);
  }
  for (const rule of await loadAlertRules()) {
    for (const name of metricNames(rule.expr)) add(name, `alert ${rule.alert}`);
  }
  for (const query of panelQueries(await loadDashboards())) {
    for (const name of metricNames(substituteGrafanaVariables(query.expr))) {
      add(name, `panel ${query.dashboard} / ${query.panel}`);
    }
  }
  return out;
}

Deno.test("every metric a rule or a dashboard reads is emitted by production code", async () => {
  const families = await emitted();
  const recorded = new Set((await loadRecordingRules()).map((rule) => rule.record));
  const { families: contract } = await loadContract();
  const histograms = new Set(contract.filter((f) => f.type === "histogram").map((f) => f.name));
  const orphans: string[] = [];
  const read = await readers();
  for (const [name, who] of read) {
    if (recorded.has(name)) continue;
    const family = HISTOGRAM_SERIES.test(name) && histograms.has(name.replace(HISTOGRAM_SERIES, ""))
      ? name.replace(HISTOGRAM_SERIES, "")
      : name;
    if (name === "up" || name === "ALERTS" || name === "ALERTS_FOR_STATE") continue;
    if (!families.has(family)) orphans.push(`${name} (read by ${who.join(", ")})`);
  }
  assert.deepEqual(orphans, [], "metrics read but emitted by no production module");
  assert.ok(read.size >= 30, `only ${read.size} metrics read by rules and dashboards`);
});

Deno.test("every family of the contract is emitted by production code", async () => {
  const families = await emitted();
  const { families: contract } = await loadContract();
  assert.deepEqual(
    contract.map((f) => f.name).filter((name) => !families.has(name)),
    [],
    "families of docs/reference/metrics.md that no production module emits",
  );
});

Deno.test("emittedFamilies() counts a hook only once production code calls it", () => {
  const hooks: SourceFile = {
    path: "hooks.ts",
    text: [
      '/** Example: `recordSlow(1)` and recordSlow("comptoir_x") */',
      "export function recordSlow(seconds: number): void {",
      '  inc("comptoir_slow_seconds", {}, seconds);',
      "}",
      "export class Registry {",
      "  record(key: string): void {",
      '    this.#add("comptoir_fast_total", key);',
      "  }",
      "}",
      'export const NAMES = ["comptoir_listed_total"];',
    ].join("\n"),
  };
  const caller: SourceFile = {
    path: "route.ts",
    text: 'import { recordSlow } from "./hooks.ts";\n// recordSlow(2);\nregistry.record("k");\n',
  };
  assert.deepEqual([...emittedFamilies([hooks, caller], []).keys()], ["comptoir_fast_total"]);
  const called: SourceFile = { path: "db.ts", text: "const onQuery = recordSlow;\n" };
  assert.deepEqual(
    [...emittedFamilies([hooks, caller, called], []).keys()].sort(),
    ["comptoir_fast_total", "comptoir_slow_seconds"],
  );
  assert.deepEqual(emissionSites(hooks).map((s) => s.fn), ["recordSlow", "record"]);
  assert.equal(isUsed("recordSlow", [hooks, caller]), false);
  assert.doesNotMatch(codeOf(caller.text), /recordSlow\(2\)/);
});

Deno.test("emittedFamilies() takes names written as literals by SQL migrations", () => {
  const sql: SourceFile = {
    path: "m.sql",
    text: "-- 'comptoir_commented'\nselect 'comptoir_low_stock_products'::text, count(*);\n" +
      "comment on function f() is 'comptoir_cron_job_runs_total, kept monotonic';\n",
  };
  assert.deepEqual([...emittedFamilies([], [sql]).keys()], ["comptoir_low_stock_products"]);
});
