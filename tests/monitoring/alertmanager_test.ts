import assert from "node:assert/strict";
import { run } from "../../scripts/lib/command.ts";
import {
  secretFilesOf,
  SHIPPED_ALERTMANAGER_CONFIG,
  startAlertmanager,
} from "../../scripts/lib/alertmanager.ts";
import { ALERTMANAGER_CONFIG, loadAlertRules } from "./monitoring_files.ts";
import { alertmanagerPayload } from "../../supabase/functions/alerts/alertmanager_webhook.ts";
import { fingerprint } from "../../supabase/functions/alerts/fingerprint.ts";
import { startRecorder } from "./recorder.ts";

const ALERTMANAGER_PORT = 59093;

/**
 * Where each alert of alerts.yml must be delivered, by `alertname/severity`. A new alert fails the
 * test below until its route is written here. Every alert goes to the alerts function first
 * (comptoir-alerts, which continues to the other routes).
 */
const EXPECTED_RECEIVERS: Record<string, string> = {
  "ServiceDown/critical": "comptoir-alerts,pagerduty-critical,slack-platform",
  "DatabaseDown/critical": "comptoir-alerts,pagerduty-critical,slack-platform",
  "SupabaseMetricsDown/warning": "comptoir-alerts,slack-platform",
  "HighErrorRate/critical": "comptoir-alerts,pagerduty-critical",
  "ModerateErrorRate/warning": "comptoir-alerts,slack-warnings",
  "HighLatencyP99/critical": "comptoir-alerts,pagerduty-critical",
  "AnomalousRequestRate/warning": "comptoir-alerts,slack-warnings",
  "AvailabilityErrorBudgetBurn/critical": "comptoir-alerts,pagerduty-critical",
  "AvailabilityErrorBudgetBurn/warning": "comptoir-alerts,slack-warnings",
  "LatencyErrorBudgetBurn/critical": "comptoir-alerts,pagerduty-critical",
  "LatencyErrorBudgetBurn/warning": "comptoir-alerts,slack-warnings",
  "HighDatabaseLatency/warning": "comptoir-alerts,slack-platform",
  "DatabasePoolSaturated/warning": "comptoir-alerts,slack-platform",
  "MaterializedViewStale/warning": "comptoir-alerts,slack-platform",
  "CronJobFailing/warning": "comptoir-alerts,slack-platform",
  "CacheHitRatioLow/warning": "comptoir-alerts,slack-platform",
  "RateLimitSpike/warning": "comptoir-alerts,slack-warnings",
  "RateLimiterFailingOpen/warning": "comptoir-alerts,slack-warnings",
  "CircuitBreakerOpen/warning": "comptoir-alerts,slack-warnings",
  "AuthFailureSpike/warning": "comptoir-alerts,slack-warnings",
  "OrderDrop/warning": "comptoir-alerts,slack-business",
  "NoOrders/critical": "comptoir-alerts,pagerduty-critical,slack-business",
  "CheckoutFailureRateHigh/warning": "comptoir-alerts,slack-business",
  "LowStockProducts/info": "comptoir-alerts,slack-business",
  "AuditChainBroken/critical": "comptoir-alerts,pagerduty-critical,slack-platform",
  "AuditVerificationStale/warning": "comptoir-alerts,slack-platform",
  "NotificationsBacklogOld/warning": "comptoir-alerts,slack-platform",
  "NotificationsDeadLettered/warning": "comptoir-alerts,slack-platform",
  "AlertEvaluationStalled/warning": "comptoir-alerts,slack-platform",
};

Deno.test("amtool check-config accepts the Alertmanager configuration and its templates", async () => {
  const result = await run("amtool", ["check-config", ALERTMANAGER_CONFIG], { check: false });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /1 templates/);
});

Deno.test("amtool routes every alert of alerts.yml to its expected receivers", async (t) => {
  const rules = await loadAlertRules();
  assert.deepEqual(
    rules.map((rule) => `${rule.alert}/${rule.labels.severity}`).sort(),
    Object.keys(EXPECTED_RECEIVERS).sort(),
    "every alert (and only those) needs an expected route",
  );
  for (const rule of rules) {
    const key = `${rule.alert}/${rule.labels.severity}`;
    await t.step(key, async () => {
      const labels = Object.entries({ alertname: rule.alert, ...rule.labels })
        .map(([name, value]) => `${name}=${value}`);
      const result = await run("amtool", [
        "config",
        "routes",
        "test",
        `--config.file=${ALERTMANAGER_CONFIG}`,
        `--verify.receivers=${EXPECTED_RECEIVERS[key]}`,
        ...labels,
      ], { check: false });
      assert.equal(result.stdout.trim(), EXPECTED_RECEIVERS[key]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
    });
  }
});

Deno.test("a real Alertmanager notifies the right channels and holds back inhibited alerts", async (t) => {
  const recorder = startRecorder();
  const config = await Deno.readTextFile(SHIPPED_ALERTMANAGER_CONFIG);
  const secrets = Object.fromEntries(
    secretFilesOf(config).map((name) => [name, `${recorder.url}/${name}`]),
  );
  secrets.pagerduty_routing_key = "test-routing-key";
  secrets.comptoir_alerts_token = "test-alerts-token";
  const alertmanager = await startAlertmanager({
    port: ALERTMANAGER_PORT,
    secrets,
    pagerdutyUrl: `${recorder.url}/pagerduty`,
    fastTimers: true,
    alertsWebhookUrl: `${recorder.url}/comptoir_alerts`,
  });
  try {
    const runbook = (name: string) =>
      `https://github.com/comptoir/comptoir/blob/main/docs/runbooks/${name}.md`;
    const alert = (labels: Record<string, string>, summary: string, runbookName: string) => ({
      labels,
      annotations: { summary, description: `${summary} (test)`, runbook_url: runbook(runbookName) },
      generatorURL: "http://127.0.0.1:59090/graph",
    });
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        alert(
          { alertname: "DatabaseDown", severity: "critical", team: "platform", job: "comptoir" },
          "The database does not answer",
          "database_down",
        ),
        alert(
          {
            alertname: "HighDatabaseLatency",
            severity: "warning",
            team: "platform",
            job: "comptoir",
            operation: "select",
          },
          "Database select statements are slow",
          "high_database_latency",
        ),
        alert(
          { alertname: "RateLimitSpike", severity: "warning", team: "backend", job: "comptoir" },
          "Rate-limit policy anonymous rejects many requests",
          "rate_limit_spike",
        ),
        alert(
          { alertname: "LowStockProducts", severity: "info", team: "business", job: "comptoir" },
          "Products are running out of stock",
          "low_stock_products",
        ),
        alert(
          {
            alertname: "AvailabilityErrorBudgetBurn",
            severity: "critical",
            team: "backend",
            slo: "availability",
            job: "comptoir-staging",
          },
          "The availability error budget is burning fast",
          "availability_error_budget_burn",
        ),
        alert(
          {
            alertname: "AvailabilityErrorBudgetBurn",
            severity: "warning",
            team: "backend",
            slo: "availability",
            job: "comptoir-staging",
          },
          "The availability error budget is burning steadily",
          "availability_error_budget_burn",
        ),
      ]),
    });
    assert.equal(posted.status, 200, await posted.text());

    const expected = {
      "/slack_alerts_critical_url": ["DatabaseDown", "AvailabilityErrorBudgetBurn"],
      "/slack_alerts_platform_url": ["DatabaseDown"],
      "/slack_alerts_warnings_url": ["RateLimitSpike"],
      "/slack_alerts_business_url": ["LowStockProducts"],
      "/pagerduty": ["DatabaseDown", "AvailabilityErrorBudgetBurn"],
    };
    // Alertmanager's inhibition holds an alert back from every receiver, the alerts function's too.
    const sentToAlerts = 4;
    const deliveries = await recorder.waitFor(
      (requests) =>
        Object.entries(expected).every(([path, names]) =>
          requests.filter((r) => r.path === path).length >= names.length
        ) &&
        requests.filter((r) => r.path === "/comptoir_alerts").length >= sentToAlerts,
      20_000,
    );
    // Let a late, wrong notification arrive before judging what was delivered.
    await new Promise((resolve) => setTimeout(resolve, 2500));

    await t.step("each channel received exactly its alerts", () => {
      for (const [path, names] of Object.entries(expected)) {
        const bodies = recorder.requests.filter((r) => r.path === path).map((r) => r.body);
        const received = bodies.map((body) =>
          path === "/pagerduty"
            ? /\] (\w+):/.exec(body.payload.summary)?.[1]
            : /\] (\w+) \(/.exec(body.attachments[0].title)?.[1]
        );
        assert.deepEqual(received.sort(), [...names].sort(), path);
      }
      assert.ok(deliveries.length > 0);
    });

    await t.step(
      "the alerts function receives each alert Alertmanager does not inhibit, as version 4",
      () => {
        const calls = recorder.requests.filter((r) => r.path === "/comptoir_alerts");
        const names = new Set<string>();
        for (const call of calls) {
          assert.equal(call.headers.get("authorization"), "Bearer test-alerts-token");
          // The payload Alertmanager really sends parses with the function's schema, and its
          // fingerprints are the function's own.
          const payload = alertmanagerPayload.parse(call.body);
          assert.equal(payload.version, "4");
          assert.equal(payload.receiver, "comptoir-alerts");
          for (const alert of payload.alerts) {
            assert.equal(alert.fingerprint, fingerprint(alert.labels));
            names.add(`${alert.labels.alertname}/${alert.labels.severity}`);
          }
        }
        assert.equal(names.size, sentToAlerts, [...names].join(", "));
        assert.ok(!names.has("HighDatabaseLatency/warning"), "inhibited by DatabaseDown");
      },
    );

    await t.step("Slack messages carry the summary, the description and the runbook", () => {
      const [message] = recorder.requests
        .filter((r) => r.path === "/slack_alerts_platform_url")
        .map((r) => r.body);
      assert.equal(message.channel, "#alerts-platform");
      const [attachment] = message.attachments;
      assert.equal(attachment.title, "[FIRING:1] DatabaseDown (critical, platform)");
      assert.equal(attachment.title_link, runbook("database_down"));
      assert.equal(attachment.color, "danger");
      assert.match(attachment.text, /\*The database does not answer\*/);
      assert.match(attachment.text, /The database does not answer \(test\)/);
      assert.match(attachment.text, /`job=comptoir`/);
    });

    await t.step("PagerDuty events carry the routing key, severity and runbook link", () => {
      const event = recorder.requests.find((r) =>
        r.path === "/pagerduty" && r.body.payload.summary.includes("DatabaseDown")
      )?.body;
      assert.ok(event);
      assert.equal(event.routing_key, "test-routing-key");
      assert.equal(event.event_action, "trigger");
      assert.equal(event.payload.severity, "critical");
      assert.equal(event.payload.summary, "[FIRING] DatabaseDown: The database does not answer");
      assert.deepEqual(event.links, [{ href: runbook("database_down"), text: "Runbook" }]);
    });

    await t.step("DatabaseDown holds back the latency alert it causes", async () => {
      const alerts = await (await fetch(
        `${alertmanager.url}/api/v2/alerts?filter=alertname%3D%22HighDatabaseLatency%22`,
      )).json();
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0].status.state, "suppressed");
      assert.equal(alerts[0].status.inhibitedBy.length, 1);
    });

    await t.step("a page holds back the ticket of the same alert", async () => {
      const alerts = await (await fetch(
        `${alertmanager.url}/api/v2/alerts?filter=severity%3D%22warning%22&filter=alertname%3D%22AvailabilityErrorBudgetBurn%22`,
      )).json();
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0].status.state, "suppressed");
    });
  } finally {
    await alertmanager.stop();
    await recorder.stop();
  }
});
