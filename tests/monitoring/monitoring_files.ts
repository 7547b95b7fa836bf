/**
 * What the monitoring files declare, read for the tests: rule groups and alerts, promtool test
 * files, the metrics contract (docs/reference/metrics.md), dashboards and runbooks; plus the two
 * PromQL readings the tests need (metric and label names used by an expression) and Grafana's
 * variable substitution.
 * @module
 */
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** A parsed YAML value. */
export type YamlValue = string | number | boolean | null | YamlValue[] | {
  [key: string]: YamlValue;
};

/** Repository root, with a trailing slash. */
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url));
export const PROMETHEUS_DIR = `${ROOT}config/prometheus`;
export const RULE_FILES: readonly string[] = [
  `${PROMETHEUS_DIR}/recording_rules.yml`,
  `${PROMETHEUS_DIR}/alerts.yml`,
];
export const RULE_TESTS_DIR = `${PROMETHEUS_DIR}/tests`;
export const ALERTMANAGER_CONFIG = `${ROOT}config/alertmanager/config.yml`;
export const DASHBOARDS_DIR = `${ROOT}config/grafana/dashboards`;
export const GRAFANA_PROVISIONING_DIR = `${ROOT}config/grafana/provisioning`;
export const RUNBOOKS_DIR = `${ROOT}docs/runbooks`;
export const CONTRACT_FILE = `${ROOT}docs/reference/metrics.md`;

type YamlMap = { [key: string]: YamlValue };

/** A recording rule. */
export interface RecordingRule {
  group: string;
  record: string;
  expr: string;
}

/** An alerting rule. */
export interface AlertRule {
  group: string;
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A rule group as written in a rule file. */
export interface RuleGroup {
  file: string;
  name: string;
  recording: RecordingRule[];
  alerting: AlertRule[];
}

function asMap(value: YamlValue, what: string): YamlMap {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${what} is not a mapping`);
  }
  return value;
}

function asList(value: YamlValue, what: string): YamlValue[] {
  if (!Array.isArray(value)) throw new TypeError(`${what} is not a list`);
  return value;
}

function asStrings(value: YamlValue | undefined, what: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  return Object.fromEntries(
    Object.entries(asMap(value, what)).map(([k, v]) => [k, String(v)]),
  );
}

/** Reads a YAML file with the block YAML reader. */
export async function readYaml(path: string): Promise<YamlValue> {
  return parse(await Deno.readTextFile(path)) as YamlValue;
}

/** The rule groups of comptoir's rule files, in file order. */
export async function loadRuleGroups(): Promise<RuleGroup[]> {
  const groups: RuleGroup[] = [];
  for (const file of RULE_FILES) {
    const doc = asMap(await readYaml(file), file);
    for (const raw of asList(doc.groups, `${file} groups`)) {
      const group = asMap(raw, `${file} group`);
      const name = String(group.name);
      const recording: RecordingRule[] = [];
      const alerting: AlertRule[] = [];
      for (const ruleRaw of asList(group.rules, `${name} rules`)) {
        const rule = asMap(ruleRaw, `${name} rule`);
        if (typeof rule.record === "string") {
          recording.push({ group: name, record: rule.record, expr: String(rule.expr) });
        } else {
          alerting.push({
            group: name,
            alert: String(rule.alert),
            expr: String(rule.expr),
            for: rule.for === undefined ? undefined : String(rule.for),
            labels: asStrings(rule.labels, `${rule.alert} labels`),
            annotations: asStrings(rule.annotations, `${rule.alert} annotations`),
          });
        }
      }
      groups.push({ file, name, recording, alerting });
    }
  }
  return groups;
}

/** Every alerting rule (an alert defined at two severities appears twice). */
export async function loadAlertRules(): Promise<AlertRule[]> {
  return (await loadRuleGroups()).flatMap((group) => group.alerting);
}

/** Every recording rule. */
export async function loadRecordingRules(): Promise<RecordingRule[]> {
  return (await loadRuleGroups()).flatMap((group) => group.recording);
}

/** The promtool rule test files, sorted. */
export async function ruleTestFiles(): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(RULE_TESTS_DIR)) {
    if (entry.isFile && entry.name.endsWith(".test.yml")) {
      files.push(`${RULE_TESTS_DIR}/${entry.name}`);
    }
  }
  return files.sort();
}

/** One `alert_rule_test` check of a promtool test file. */
export interface AlertCheck {
  file: string;
  test: string;
  alertname: string;
  /** Seconds from the start of the test. */
  evalTime: number;
  /** Severities of the alerts expected to fire (empty: silent). */
  severities: string[];
}

/** A promtool test file, as far as the coverage checks need it. */
export interface RuleTestFile {
  file: string;
  groupEvalOrder: string[];
  checks: AlertCheck[];
}

/** Reads a promtool test file. */
export async function loadRuleTestFile(file: string): Promise<RuleTestFile> {
  const doc = asMap(await readYaml(file), file);
  const order = doc.group_eval_order === undefined
    ? []
    : asList(doc.group_eval_order, "group_eval_order").map(String);
  const checks: AlertCheck[] = [];
  for (const [i, raw] of asList(doc.tests, `${file} tests`).entries()) {
    const test = asMap(raw, `${file} test`);
    const name = test.name === undefined ? `test ${i + 1}` : String(test.name);
    const alertTests = test.alert_rule_test === undefined ? [] : asList(test.alert_rule_test, name);
    for (const checkRaw of alertTests) {
      const check = asMap(checkRaw, `${name} alert_rule_test`);
      const expected = check.exp_alerts === undefined || check.exp_alerts === null
        ? []
        : asList(check.exp_alerts, "exp_alerts");
      checks.push({
        file,
        test: name,
        alertname: String(check.alertname),
        evalTime: parseDuration(String(check.eval_time)),
        severities: expected.map((alert) =>
          String(asStrings(asMap(alert, "exp_alert").exp_labels, "exp_labels").severity)
        ),
      });
    }
  }
  return { file, groupEvalOrder: order, checks };
}

/** Parses a Prometheus duration such as `1d2h30m` into seconds. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = {
    ms: 0.001,
    s: 1,
    m: 60,
    h: 3600,
    d: 86400,
    w: 604800,
    y: 31536000,
  };
  let total = 0;
  let rest = text;
  while (rest !== "") {
    const match = /^(\d+)(ms|s|m|h|d|w|y)/.exec(rest);
    if (!match) throw new RangeError(`Not a Prometheus duration: ${text}`);
    total += Number(match[1]) * units[match[2]];
    rest = rest.slice(match[0].length);
  }
  return total;
}

/** `HighErrorRate` → `high_error_rate`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

/** A family of the metrics contract. */
export interface ContractFamily {
  name: string;
  type: string;
  labels: string[];
}

/** What docs/reference/metrics.md declares. */
export interface Contract {
  families: ContractFamily[];
  /** Label names of the label table. */
  labels: Set<string>;
  /** Histogram family → `le` values, `+Inf` last. */
  buckets: Map<string, string[]>;
  /** The example exposition. */
  example: string;
  /** Recording rules listed in the contract, by group. */
  recordingRules: Map<string, string[]>;
}

function tableRows(markdown: string, heading: string): string[][] {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`No "## ${heading}" section in the contract`);
  const end = markdown.indexOf("\n## ", start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return section.split("\n")
    .filter((line) => line.startsWith("|") && !/^\|[\s|:-]+\|$/.test(line))
    .slice(1)
    .map((line) => line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
}

function backticked(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
}

/** Reads the metrics contract. */
export async function loadContract(): Promise<Contract> {
  const markdown = await Deno.readTextFile(CONTRACT_FILE);
  const families = tableRows(markdown, "Families").map(([name, type, , labels]) => ({
    name: backticked(name)[0],
    type,
    labels: backticked(labels),
  }));
  const labels = new Set(tableRows(markdown, "Labels").flatMap(([name]) => backticked(name)));
  const buckets = new Map(
    tableRows(markdown, "Histogram buckets").map(([name, values]) => [
      backticked(name)[0],
      [...backticked(values), "+Inf"],
    ]),
  );
  const example = /```prometheus\n([\s\S]*?)```/.exec(markdown)?.[1];
  if (example === undefined) throw new Error("No example exposition in the contract");
  const recordingRules = new Map(
    tableRows(markdown, "Recording rules").map(([group, rules]) => [
      backticked(group)[0],
      backticked(rules),
    ]),
  );
  return { families, labels, buckets, example, recordingRules };
}

/** Names a rule or panel may read: contract series (histograms with their suffixes). */
export function contractSeriesNames(contract: Contract): Set<string> {
  const names = new Set<string>();
  for (const family of contract.families) {
    if (family.type === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(family.name + suffix);
    } else names.add(family.name);
  }
  return names;
}

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);
const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;

function withoutStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
}

/** Metric names an expression reads (selectors, not functions, keywords or labels). */
export function metricNames(expr: string): string[] {
  const bare = withoutStrings(expr)
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(GROUPING, " ");
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()/g)) {
    if (!KEYWORDS.has(match[1].toLowerCase())) names.add(match[1]);
  }
  return [...names];
}

/** Label names an expression matches on or groups by. */
export function labelNames(expr: string): string[] {
  const text = withoutStrings(expr);
  const names = new Set<string>();
  for (const block of text.matchAll(/\{([^}]*)\}/g)) {
    for (const matcher of block[1].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)) {
      names.add(matcher[1]);
    }
  }
  for (const clause of text.matchAll(GROUPING)) {
    for (const name of clause[2].split(",")) if (name.trim() !== "") names.add(name.trim());
  }
  return [...names];
}

/** A Grafana dashboard file. */
export interface DashboardFile {
  file: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/** The dashboards, parsed; fails on invalid JSON. */
export async function loadDashboards(): Promise<DashboardFile[]> {
  const files: DashboardFile[] = [];
  for await (const entry of Deno.readDir(DASHBOARDS_DIR)) {
    if (!entry.isFile || !entry.name.endsWith(".json")) continue;
    const file = `${DASHBOARDS_DIR}/${entry.name}`;
    try {
      files.push({ file, json: JSON.parse(await Deno.readTextFile(file)) });
    } catch (err) {
      throw new Error(`${entry.name} is not valid JSON: ${err}`);
    }
  }
  return files.sort((a, b) => a.file.localeCompare(b.file));
}

/** Every panel of a dashboard, rows and the panels inside collapsed rows included. */
// deno-lint-ignore no-explicit-any
export function panelsOf(dashboard: any): any[] {
  // deno-lint-ignore no-explicit-any
  return (dashboard.panels ?? []).flatMap((panel: any) => [panel, ...(panel.panels ?? [])]);
}

/** A query of a dashboard panel. */
export interface PanelQuery {
  dashboard: string;
  panel: string;
  expr: string;
}

/** Every Prometheus query of the dashboards' panels, as written (with Grafana variables). */
export function panelQueries(dashboards: DashboardFile[]): PanelQuery[] {
  return dashboards.flatMap(({ json }) =>
    panelsOf(json).flatMap((panel) =>
      // deno-lint-ignore no-explicit-any
      (panel.targets ?? []).map((target: any) => ({
        dashboard: String(json.uid),
        panel: String(panel.title),
        expr: String(target.expr),
      }))
    )
  );
}

/**
 * Replaces the Grafana variables of a query the way Grafana would for a concrete selection, so
 * that Prometheus can evaluate it: the `job`, every function (`.*`), and the interval macros.
 */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "2m")
    .replaceAll("$__interval", "30s")
    .replaceAll("$__range", "1h")
    .replaceAll("${job}", "comptoir")
    .replaceAll("$job", "comptoir")
    .replaceAll("${function}", ".*")
    .replaceAll("$function", ".*");
}
