import assert from "node:assert/strict";
import { exists, run } from "../../scripts/lib/command.ts";
import { PROMETHEUS_TEST_TEMPLATE, renderConfigTemplate } from "../../scripts/lib/prometheus.ts";
import {
  contractSeriesNames,
  labelNames,
  loadAlertRules,
  loadContract,
  loadRecordingRules,
  loadRuleGroups,
  loadRuleTestFile,
  metricNames,
  PROMETHEUS_DIR,
  RULE_FILES,
  ruleTestFiles,
  RUNBOOKS_DIR,
  snakeCase,
} from "./monitoring_files.ts";

const SEVERITIES = new Set(["critical", "warning", "info"]);
const TEAMS = new Set(["backend", "platform", "business"]);
/** Labels Prometheus attaches itself, and the histogram bucket label. */
const PROMETHEUS_LABELS = new Set(["job", "instance", "le", "__name__"]);
const RUNBOOK_BASE = "https://github.com/comptoir/comptoir/blob/main/docs/runbooks/";

Deno.test("promtool check rules accepts the shipped rule files", async () => {
  const result = await run("promtool", ["check", "rules", ...RULE_FILES], { check: false });
  assert.equal(result.code, 0, result.stdout + result.stderr);
});

Deno.test("promtool check config accepts prometheus.yml once its secret files exist", async () => {
  const dir = await Deno.makeTempDir({ prefix: "comptoir-promtool-" });
  try {
    const config = await Deno.readTextFile(`${PROMETHEUS_DIR}/prometheus.yml`);
    const secrets = [
      ...new Set([...config.matchAll(/\/etc\/prometheus\/secrets\/(\w+)/g)].map((m) => m[1])),
    ];
    assert.deepEqual(secrets.sort(), ["comptoir_metrics_token", "supabase_service_role_key"]);
    await Deno.mkdir(`${dir}/secrets`);
    for (const name of secrets) await Deno.writeTextFile(`${dir}/secrets/${name}`, "secret");
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      config.replaceAll("/etc/prometheus/secrets/", `${dir}/secrets/`),
    );
    for (const file of RULE_FILES) {
      await Deno.copyFile(file, `${dir}/${file.slice(file.lastIndexOf("/") + 1)}`);
    }
    const result = await run("promtool", ["check", "config", `${dir}/prometheus.yml`], {
      check: false,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS: 2 rule files found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prometheus.test.yml renders into a configuration promtool check config accepts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "comptoir-promtool-" });
  try {
    await Deno.writeTextFile(`${dir}/token`, "secret");
    await Deno.writeTextFile(
      `${dir}/prometheus.yml`,
      renderConfigTemplate(await Deno.readTextFile(PROMETHEUS_TEST_TEMPLATE), {
        SCRAPE_INTERVAL: "1s",
        EVALUATION_INTERVAL: "1s",
        RULE_FILES,
        ALERTMANAGER_TARGETS: ["127.0.0.1:59093"],
        METRICS_PATH: "/functions/v1/metrics",
        METRICS_TOKEN_FILE: `${dir}/token`,
        METRICS_TARGETS: ["127.0.0.1:54321"],
      }),
    );
    const result = await run("promtool", ["check", "config", `${dir}/prometheus.yml`], {
      check: false,
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("promtool test rules passes every rule test file", async (t) => {
  const files = await ruleTestFiles();
  assert.ok(files.length > 0);
  // The files are independent and some replay days of samples: run them all at once.
  const results = new Map(
    files.map((file) => [file, run("promtool", ["test", "rules", file], { check: false })]),
  );
  for (const [file, result] of results) {
    await t.step(file.slice(file.lastIndexOf("/") + 1), async () => {
      const { code, stdout, stderr } = await result;
      assert.equal(code, 0, stdout + stderr);
      assert.match(stdout, /SUCCESS/);
    });
  }
});

Deno.test("every rule test file evaluates all rule groups, recording rules first", async () => {
  const groups = await loadRuleGroups();
  const expected = [
    ...groups.filter((group) => group.alerting.length === 0),
    ...groups.filter((group) => group.alerting.length > 0),
  ].map((group) => group.name);
  assert.equal(new Set(expected).size, expected.length, "rule group names must be unique");
  for (const file of await ruleTestFiles()) {
    // Without a fixed order promtool evaluates groups in map order and results vary run to run.
    assert.deepEqual((await loadRuleTestFile(file)).groupEvalOrder, expected, file);
  }
});

Deno.test("every alert fires in a rule test, silent before and resolved after", async () => {
  const checks = (await Promise.all((await ruleTestFiles()).map(loadRuleTestFile)))
    .flatMap((file) => file.checks);
  const missing: string[] = [];
  for (const rule of await loadAlertRules()) {
    const severity = rule.labels.severity;
    const covered = checks.some((fire) => {
      if (fire.alertname !== rule.alert || !fire.severities.includes(severity)) return false;
      const sameTest = checks.filter((c) =>
        c.file === fire.file && c.test === fire.test && c.alertname === rule.alert &&
        !c.severities.includes(severity)
      );
      return sameTest.some((c) => c.evalTime < fire.evalTime) &&
        sameTest.some((c) => c.evalTime > fire.evalTime);
    });
    if (!covered) missing.push(`${rule.alert} (${severity})`);
  }
  assert.deepEqual(missing, [], "alerts without a silent / firing / resolved sequence");
});

Deno.test("every alert has severity, team, summary, a valued description and its runbook", async () => {
  const alerts = await loadAlertRules();
  for (const rule of alerts) {
    const what = `${rule.alert} (${rule.labels.severity})`;
    assert.ok(SEVERITIES.has(rule.labels.severity), `${what}: severity`);
    assert.ok(TEAMS.has(rule.labels.team), `${what}: team`);
    assert.ok(rule.annotations.summary?.length > 0, `${what}: summary`);
    assert.match(
      rule.annotations.description ?? "",
      /\{\{ \$value \| humanize(Percentage|Duration)? \}\}/,
      `${what}: the description must show the humanized value`,
    );
    const runbook = `${snakeCase(rule.alert)}.md`;
    assert.equal(rule.annotations.runbook_url, RUNBOOK_BASE + runbook, `${what}: runbook_url`);
    const path = `${RUNBOOKS_DIR}/${runbook}`;
    assert.ok(await exists(path), `${what}: ${path} does not exist`);
    const text = await Deno.readTextFile(path);
    assert.ok(text.startsWith(`# ${rule.alert}\n`), `${runbook} must be titled ${rule.alert}`);
    for (const section of ["## What it means", "## Diagnose", "## Mitigate"]) {
      assert.ok(text.includes(`\n${section}\n`), `${runbook} lacks "${section}"`);
    }
  }
  const runbooks: string[] = [];
  for await (const entry of Deno.readDir(RUNBOOKS_DIR)) {
    if (entry.name !== "README.md") runbooks.push(entry.name);
  }
  const index = await Deno.readTextFile(`${RUNBOOKS_DIR}/README.md`);
  for (const rule of alerts) {
    assert.ok(
      index.includes(`[${rule.alert}](${snakeCase(rule.alert)}.md)`),
      `the runbook index does not list ${rule.alert}`,
    );
  }
  assert.deepEqual(
    runbooks.sort(),
    [...new Set(alerts.map((rule) => `${snakeCase(rule.alert)}.md`))].sort(),
    "every runbook belongs to an alert",
  );
});

Deno.test("rules read only contract metrics, recording rules and up, with contract labels", async () => {
  const contract = await loadContract();
  const recording = await loadRecordingRules();
  const known = new Set([
    ...contractSeriesNames(contract),
    ...recording.map((rule) => rule.record),
    "up",
  ]);
  const labels = new Set([...contract.labels, ...PROMETHEUS_LABELS]);
  const rules = [
    ...recording.map((rule) => ({ name: rule.record, expr: rule.expr })),
    ...(await loadAlertRules()).map((rule) => ({ name: rule.alert, expr: rule.expr })),
  ];
  for (const { name, expr } of rules) {
    for (const metric of metricNames(expr)) {
      assert.ok(known.has(metric), `${name} reads ${metric}, which is neither contract nor rule`);
    }
    for (const label of labelNames(expr)) {
      assert.ok(labels.has(label), `${name} uses the label ${label}, unknown to the contract`);
    }
  }
  for (const rule of recording) {
    assert.match(rule.record, /^[a-z_]+:comptoir_[a-z0-9_]+:[a-z0-9_]+$/, rule.record);
    assert.ok(rule.record.split(":")[0].split("_").includes("job"), `${rule.record} keeps job`);
  }
});

Deno.test("the contract lists every recording rule under its group", async () => {
  const { recordingRules } = await loadContract();
  const groups = (await loadRuleGroups()).filter((group) => group.recording.length > 0);
  assert.deepEqual(
    recordingRules,
    new Map(groups.map((group) => [group.name, group.recording.map((rule) => rule.record)])),
  );
});
