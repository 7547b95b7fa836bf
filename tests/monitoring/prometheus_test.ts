import assert from "node:assert/strict";
import {
  secretFilesOf,
  SHIPPED_ALERTMANAGER_CONFIG,
  startAlertmanager,
} from "../../scripts/lib/alertmanager.ts";
import { startPrometheus } from "../../scripts/lib/prometheus.ts";
import {
  loadContract,
  loadDashboards,
  loadRuleGroups,
  panelQueries,
  panelsOf,
  parseDuration,
  RULE_FILES,
  substituteGrafanaVariables,
} from "./monitoring_files.ts";
import { startRecorder } from "./recorder.ts";

const PROMETHEUS_PORT = 59090;
const ALERTMANAGER_PORT = 59093;
const METRICS_TOKEN = "test-metrics-token";
const FAILURES_LINE = /^(comptoir_cron_job_failures_total\{[^}]*\}) \d+$/m;

async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} not seen within ${timeoutMs} ms${last ? `: ${last}` : ""}`);
}

/**
 * The shipped rule files with every group's `interval` set to 1s: groups evaluated every minute in
 * production would otherwise report health "unknown" for up to a minute. Expressions are unchanged.
 */
async function everySecondRuleFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const file of RULE_FILES) {
    const copy = `${dir}/${file.slice(file.lastIndexOf("/") + 1)}`;
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(copy, text.replace(/^(\s+interval: ).+$/gm, (_, key) => `${key}1s`));
    files.push(copy);
  }
  return files;
}

/** A rule as /api/v1/rules reports it. */
interface ApiRule {
  name: string;
  type: "alerting" | "recording";
  health: "ok" | "err" | "unknown";
  lastError?: string;
  duration?: number;
  labels?: Record<string, string>;
}

/** A rule group as /api/v1/rules reports it. */
interface ApiGroup {
  name: string;
  rules: ApiRule[];
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  return await response.json() as T;
}

Deno.test("a real Prometheus runs the shipped rules, parses every dashboard query and alerts", async (t) => {
  const { example } = await loadContract();
  assert.match(example, FAILURES_LINE);
  // The metrics function's stand-in serves the contract's example, one more cron failure per
  // scrape, behind the same bearer token check.
  let failures = 0;
  const fake = startRecorder((request) => {
    if (request.path !== "/functions/v1/metrics") return new Response("ok");
    if (request.headers.get("authorization") !== `Bearer ${METRICS_TOKEN}`) {
      return Response.json({ title: "Unauthorized", status: 401 }, {
        status: 401,
        headers: { "content-type": "application/problem+json" },
      });
    }
    failures++;
    return new Response(example.replace(FAILURES_LINE, `$1 ${failures}`), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  });
  const secrets = Object.fromEntries(
    secretFilesOf(await Deno.readTextFile(SHIPPED_ALERTMANAGER_CONFIG))
      .map((name) => [name, `${fake.url}/${name}`]),
  );
  secrets.pagerduty_routing_key = "test-routing-key";
  const alertmanager = await startAlertmanager({
    port: ALERTMANAGER_PORT,
    secrets,
    pagerdutyUrl: `${fake.url}/pagerduty`,
    fastTimers: true,
    alertsWebhookUrl: `${fake.url}/comptoir_alerts`,
  });
  const rulesDir = await Deno.makeTempDir({ prefix: "comptoir-rules-" });
  let prometheus;
  try {
    prometheus = await startPrometheus({
      port: PROMETHEUS_PORT,
      metricsTargets: [new URL(fake.url).host],
      metricsToken: METRICS_TOKEN,
      alertmanagerTargets: [`127.0.0.1:${ALERTMANAGER_PORT}`],
      ruleFiles: await everySecondRuleFiles(rulesDir),
    });
    const api = `${prometheus.url}/api/v1`;

    await t.step("every rule group is loaded and evaluates without error", async () => {
      const groups = await loadRuleGroups();
      let pending: string[] = [];
      const loaded = await poll("all rules evaluated", async () => {
        const { data } = await getJson<{ data: { groups: ApiGroup[] } }>(`${api}/rules`);
        pending = data.groups.flatMap((g) =>
          g.rules.filter((r) => r.health === "unknown").map((r) => r.name)
        );
        return pending.length === 0 ? data.groups : undefined;
      }).catch((err) => {
        throw new Error(`${err.message}; never evaluated: ${pending.join(", ")}`);
      });
      assert.deepEqual(loaded.map((g) => g.name).sort(), groups.map((g) => g.name).sort());
      for (const group of loaded) {
        for (const rule of group.rules) {
          assert.equal(rule.health, "ok", `${group.name} / ${rule.name}: ${rule.lastError}`);
        }
      }
      // The alerts these tests read from alerts.yml are the ones Prometheus loaded.
      assert.deepEqual(
        loaded.flatMap((g) => g.rules.filter((r) => r.type === "alerting"))
          .map((r) => `${r.name}/${r.labels?.severity}/${r.duration}`).sort(),
        groups.flatMap((g) => g.alerting)
          .map((r) => `${r.alert}/${r.labels.severity}/${r.for ? parseDuration(r.for) : 0}`)
          .sort(),
      );
    });

    await t.step("the metrics target is scraped with the bearer token", async () => {
      interface ApiTarget {
        labels: Record<string, string>;
        health: string;
        scrapeUrl: string;
      }
      const target = await poll("an up target", async () => {
        const { data } = await getJson<{ data: { activeTargets: ApiTarget[] } }>(
          `${api}/targets?state=active`,
        );
        const comptoir = data.activeTargets.find((target) => target.labels.job === "comptoir");
        return comptoir?.health === "up" ? comptoir : undefined;
      });
      assert.equal(target.scrapeUrl, `${fake.url}/functions/v1/metrics`);
      const scrapes = fake.requests.filter((r) => r.path === "/functions/v1/metrics");
      assert.ok(scrapes.length > 0);
      for (const scrape of scrapes) {
        assert.equal(scrape.headers.get("authorization"), `Bearer ${METRICS_TOKEN}`);
      }
      const { data } = await getJson<{ data: string[] }>(
        `${api}/label/job/values?match[]=comptoir_build_info`,
      );
      assert.deepEqual(data, ["comptoir"], "the dashboards' job variable finds the job");
    });

    await t.step("every dashboard query and variable query parses", async () => {
      const dashboards = await loadDashboards();
      const queries = panelQueries(dashboards).map((q) => ({
        what: `${q.dashboard} / ${q.panel}`,
        promql: substituteGrafanaVariables(q.expr),
      }));
      for (const { json } of dashboards) {
        for (const variable of json.templating.list) {
          const selector = /^label_values\((.+), *\w+\)$/.exec(variable.definition ?? "")?.[1];
          if (selector) {
            queries.push({
              what: `${json.uid} / $${variable.name}`,
              promql: substituteGrafanaVariables(selector),
            });
          }
        }
        assert.ok(panelsOf(json).length > 0);
      }
      const failures: string[] = [];
      for (const { what, promql } of queries) {
        const response = await fetch(`${api}/query?query=${encodeURIComponent(promql)}`);
        const body = await response.json();
        if (body.status !== "success") failures.push(`${what}: ${body.errorType} ${body.error}`);
      }
      assert.deepEqual(failures, []);
    });

    await t.step("a firing alert travels to Alertmanager and its Slack channel", async () => {
      const alert = await poll("CronJobFailing in Alertmanager", async () => {
        const alerts = await getJson<{ labels: Record<string, string> }[]>(
          `${alertmanager.url}/api/v2/alerts?filter=alertname%3D%22CronJobFailing%22`,
        );
        return alerts.length > 0 ? alerts[0] : undefined;
      });
      assert.equal(alert.labels.cron_job, "refresh_product_sales_daily");
      assert.equal(alert.labels.severity, "warning");
      const message = await poll("the #alerts-platform message", () => {
        const request = fake.requests.find((r) => r.path === "/slack_alerts_platform_url");
        return Promise.resolve(request?.body);
      });
      assert.equal(message.channel, "#alerts-platform");
      assert.match(
        message.attachments[0].title,
        /^\[FIRING:1\] CronJobFailing \(warning, platform\)$/,
      );
      assert.match(message.attachments[0].text, /refresh_product_sales_daily failed about/);
    });
  } finally {
    await prometheus?.stop();
    await alertmanager.stop();
    await fake.stop();
    await Deno.remove(rulesDir, { recursive: true });
  }
});
