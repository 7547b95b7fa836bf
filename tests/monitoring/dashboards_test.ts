import assert from "node:assert/strict";
import {
  contractSeriesNames,
  GRAFANA_PROVISIONING_DIR,
  labelNames,
  loadContract,
  loadDashboards,
  loadRecordingRules,
  metricNames,
  panelQueries,
  panelsOf,
  readYaml,
  substituteGrafanaVariables,
} from "./monitoring_files.ts";

const PROMETHEUS_LABELS = new Set(["job", "instance", "le", "__name__"]);
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

Deno.test("the five dashboards are JSON with a prometheus `datasource` variable", async () => {
  const dashboards = await loadDashboards();
  assert.deepEqual(
    dashboards.map((d) => d.file.slice(d.file.lastIndexOf("/") + 1)),
    [
      "business_kpis.json",
      "database.json",
      "errors.json",
      "golden_signals.json",
      "rate_limiting_cache.json",
    ],
  );
  for (const { file, json } of dashboards) {
    // deno-lint-ignore no-explicit-any
    const variables: any[] = json.templating?.list ?? [];
    const datasource = variables.find((v) => v.name === "datasource");
    assert.ok(datasource, `${file}: no datasource variable`);
    assert.equal(datasource.type, "datasource", file);
    assert.equal(datasource.query, "prometheus", file);
    for (const variable of variables.filter((v) => v.type === "query")) {
      assert.deepEqual(variable.datasource, DATASOURCE, `${file}: variable ${variable.name}`);
    }
    assert.ok(json.uid && json.title && Number.isInteger(json.schemaVersion), file);
  }
});

Deno.test("every panel queries through the datasource variable", async () => {
  for (const { file, json } of await loadDashboards()) {
    for (const panel of panelsOf(json).filter((p) => p.type !== "row")) {
      const what = `${file}: panel "${panel.title}"`;
      assert.deepEqual(panel.datasource, DATASOURCE, what);
      assert.ok(panel.targets?.length > 0, `${what} has no query`);
      for (const target of panel.targets) {
        assert.deepEqual(target.datasource, DATASOURCE, what);
        assert.ok(typeof target.expr === "string" && target.expr.trim() !== "", what);
      }
    }
  }
});

Deno.test("panel ids are unique in each dashboard, uids and titles across dashboards", async () => {
  const dashboards = await loadDashboards();
  for (const { file, json } of dashboards) {
    const ids = panelsOf(json).map((panel) => panel.id);
    assert.ok(ids.every(Number.isInteger), `${file}: panel without an integer id`);
    assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel ids`);
  }
  const uids = dashboards.map(({ json }) => json.uid);
  assert.equal(new Set(uids).size, uids.length, "duplicate dashboard uids");
  const titles = dashboards.map(({ json }) => json.title);
  assert.equal(new Set(titles).size, titles.length, "duplicate dashboard titles");
});

Deno.test("panel queries read only contract metrics and recording rules", async () => {
  const contract = await loadContract();
  const known = new Set([
    ...contractSeriesNames(contract),
    ...(await loadRecordingRules()).map((rule) => rule.record),
  ]);
  const labels = new Set([...contract.labels, ...PROMETHEUS_LABELS]);
  const queries = panelQueries(await loadDashboards());
  assert.ok(queries.length > 50, `only ${queries.length} queries found`);
  for (const { dashboard, panel, expr } of queries) {
    const promql = substituteGrafanaVariables(expr);
    assert.doesNotMatch(promql, /\$/, `${dashboard} / ${panel}: unknown Grafana variable`);
    const metrics = metricNames(promql);
    assert.ok(metrics.length > 0, `${dashboard} / ${panel}: no metric in ${expr}`);
    for (const metric of metrics) {
      assert.ok(known.has(metric), `${dashboard} / ${panel} reads ${metric}, not in the contract`);
    }
    for (const label of labelNames(promql)) {
      assert.ok(labels.has(label), `${dashboard} / ${panel} uses the unknown label ${label}`);
    }
  }
});

Deno.test("provisioning loads the dashboards folder and a prometheus data source", async () => {
  interface DatasourcesFile {
    apiVersion: number;
    datasources: { type: string; url: string }[];
  }
  interface ProvidersFile {
    apiVersion: number;
    providers: { type: string; options: { path: string } }[];
  }
  const datasources = await readYaml(
    `${GRAFANA_PROVISIONING_DIR}/datasources/prometheus.yml`,
  ) as unknown as DatasourcesFile;
  assert.equal(datasources.apiVersion, 1);
  assert.equal(datasources.datasources.length, 1);
  assert.equal(datasources.datasources[0].type, "prometheus");
  assert.equal(datasources.datasources[0].url, "http://127.0.0.1:9090");
  const providers = await readYaml(
    `${GRAFANA_PROVISIONING_DIR}/dashboards/comptoir.yml`,
  ) as unknown as ProvidersFile;
  assert.equal(providers.apiVersion, 1);
  assert.equal(providers.providers[0].type, "file");
  assert.ok(providers.providers[0].options.path.length > 0);
});
