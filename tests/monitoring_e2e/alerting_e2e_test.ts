import assert from "node:assert/strict";
import {
  DB_SLEEP_HEADER,
  FAULT_HEADER,
} from "../../supabase/functions/_shared/metrics/fault_switch.ts";
import {
  loadDashboards,
  panelQueries,
  substituteGrafanaVariables,
} from "../monitoring/monitoring_files.ts";
import type { RecordedRequest } from "../monitoring/recorder.ts";
import { promAlerts, promQuery, startMonitoringStack } from "./_stack.ts";
import { METRICS_TOKEN, waitFor, withDatabaseStopped } from "./_support.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Panels (dashboard uid / title) whose every query must return data once the stack has served
 * traffic with errors: the golden signals, errors by route, the database's vital signs and the
 * gauges that are always exported.
 */
const CORE_PANELS = new Set([
  "comptoir-golden-signals / Requests",
  "comptoir-golden-signals / 5xx ratio",
  "comptoir-golden-signals / Database",
  "comptoir-golden-signals / Requests by function",
  "comptoir-golden-signals / Requests by status class",
  "comptoir-golden-signals / 5xx ratio by function",
  "comptoir-golden-signals / Latency by function",
  "comptoir-golden-signals / Latency distribution",
  "comptoir-golden-signals / Slowest routes (p99)",
  "comptoir-golden-signals / Requests in flight",
  "comptoir-golden-signals / Build",
  "comptoir-errors / 5xx by route",
  "comptoir-errors / Top routes by 5xx",
  "comptoir-errors / 5xx ratio by function",
  "comptoir-database / Database",
  "comptoir-database / Pool connections",
  "comptoir-database / Staleness",
  "comptoir-database / Staleness in refresh intervals",
  "comptoir-business / Orders",
  "comptoir-business / Low-stock products",
]);

/** The Slack messages of `channel` whose title names `alert`. */
function slackMessages(requests: RecordedRequest[], path: string, alert: string) {
  return requests
    .filter((r) => r.path === path && typeof r.body === "object" && r.body?.attachments)
    .map((r) => r.body)
    .filter((body) => String(body.attachments[0].title).includes(` ${alert} `));
}

/** Sends requests to `url` until `signal` aborts, half of them with an injected 500. */
async function trafficWithFaults(url: string, signal: AbortSignal): Promise<number> {
  let sent = 0;
  while (!signal.aborted) {
    await Promise.all([
      fetch(url).then((r) => r.body?.cancel()),
      fetch(url, { headers: { [FAULT_HEADER]: "500" } }).then((r) => r.body?.cancel()),
    ]);
    sent += 2;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return sent;
}

async function verifyCli(args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/monitoring_verify.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

Deno.test("faults, outages and dashboards through Prometheus and Alertmanager", async (t) => {
  // HighDatabaseLatency waits longer than DatabaseDown, so it fires while the cause is known.
  const stack = await startMonitoringStack({
    alerting: true,
    alertFor: { HighDatabaseLatency: "20s" },
    defaultFor: "5s",
  });
  const recorder = stack.recorder!;
  const alertmanager = stack.alertmanager!;
  const prometheus = stack.prometheus;
  const traffic = new AbortController();
  const sending = trafficWithFaults(`${stack.server.url}/functions/v1/health/live`, traffic.signal);
  try {
    await t.step("injected 5xx fire HighErrorRate and Slack receives the page", async () => {
      await recorder.waitFor(
        (requests) =>
          slackMessages(requests, "/slack_alerts_critical_url", "HighErrorRate").length > 0,
        90_000,
      );
      const [message] = slackMessages(
        recorder.requests,
        "/slack_alerts_critical_url",
        "HighErrorRate",
      );
      assert.equal(message.channel, "#alerts-critical");
      const [attachment] = message.attachments;
      assert.match(attachment.title, /^\[FIRING:\d+\] HighErrorRate \(critical, backend\)/);
      assert.equal(attachment.color, "danger");
      assert.match(attachment.text, /health/);
      assert.match(attachment.title_link, /docs\/runbooks\/high_error_rate\.md$/);
      const firing = (await promAlerts(prometheus.url)).filter((a) =>
        a.labels.alertname === "HighErrorRate" && a.state === "firing"
      );
      assert.deepEqual(firing.map((a) => a.labels.function), ["health"]);
      assert.ok(
        recorder.requests.some((r) =>
          r.path === "/pagerduty" && String(r.body?.payload?.summary).includes("HighErrorRate")
        ),
        "PagerDuty is paged too",
      );
    });

    await t.step("every dashboard query runs, and the core panels have data", async () => {
      const queries = panelQueries(await loadDashboards());
      assert.ok(queries.length > 0, "no dashboard query found");
      const empty: string[] = [];
      const seen = new Set<string>();
      for (const query of queries) {
        const expr = substituteGrafanaVariables(query.expr);
        const result = await promQuery(prometheus.url, expr).catch((err) => {
          throw new Error(`${query.dashboard} / ${query.panel}: ${err.message}`);
        });
        const panel = `${query.dashboard} / ${query.panel}`;
        seen.add(panel);
        if (CORE_PANELS.has(panel) && result.length === 0) empty.push(`${panel}: ${expr}`);
      }
      assert.deepEqual(empty, [], "core panels without data");
      assert.deepEqual([...CORE_PANELS].filter((p) => !seen.has(p)), [], "core panels not found");
    });

    await t.step("monitoring_verify passes on the running stack", async () => {
      const args = [
        "--metrics-url",
        `${stack.server.url}/functions/v1/metrics`,
        "--prometheus-url",
        prometheus.url,
        "--alertmanager-url",
        alertmanager.url,
      ];
      const good = await verifyCli([...args, "--token", METRICS_TOKEN]);
      assert.equal(good.code, 0, good.output);
      assert.doesNotMatch(good.output, /^FAIL/m);
      assert.match(good.output, /PASS\s+prometheus: no rule evaluation errors/);

      const bad = await verifyCli([...args, "--token", "not-the-token"]);
      assert.equal(bad.code, 1, bad.output);
      assert.match(bad.output, /FAIL\s+metrics: reachable with the token\s+answered 401/);
    });

    traffic.abort();
    await sending;

    await t.step(
      "with the database stopped DatabaseDown fires and inhibits HighDatabaseLatency",
      async () => {
        // Statements of the API turn slow for real: the test-only fault puts pg_sleep(0.3)
        // before each statement of these requests.
        const slow = new AbortController();
        const slowSending = (async () => {
          while (!slow.signal.aborted) {
            const res = await fetch(`${stack.server.url}/functions/v1/api/v1/categories`, {
              headers: {
                authorization: `Bearer ${stack.server.anonKey}`,
                [DB_SLEEP_HEADER]: "300",
              },
            });
            await res.body?.cancel();
          }
        })();
        try {
          await waitFor("HighDatabaseLatency pending", async () => {
            const alerts = await promAlerts(prometheus.url);
            return alerts.some((a) => a.labels.alertname === "HighDatabaseLatency")
              ? true
              : undefined;
          }, { timeoutMs: 60_000, intervalMs: 500 });
        } finally {
          slow.abort();
          await slowSending;
        }

        await withDatabaseStopped(async () => {
          await recorder.waitFor(
            (requests) =>
              slackMessages(requests, "/slack_alerts_platform_url", "DatabaseDown").length > 0,
            60_000,
          );
          const [page] = slackMessages(
            recorder.requests,
            "/slack_alerts_platform_url",
            "DatabaseDown",
          );
          assert.match(page.attachments[0].title, /DatabaseDown \(critical, platform\)/);

          const inhibited = await waitFor(
            "HighDatabaseLatency inhibited by DatabaseDown",
            async () => {
              const alerts = await (await fetch(`${alertmanager.url}/api/v2/alerts`)).json();
              const down = alerts.find((a: { labels: Record<string, string> }) =>
                a.labels.alertname === "DatabaseDown"
              );
              const latency = alerts.find((a: { labels: Record<string, string> }) =>
                a.labels.alertname === "HighDatabaseLatency"
              );
              return down && latency?.status.state === "suppressed" ? { down, latency } : undefined;
            },
            { timeoutMs: 90_000, intervalMs: 500 },
          );
          assert.deepEqual(inhibited.latency.status.inhibitedBy, [inhibited.down.fingerprint]);
          assert.equal(inhibited.down.status.state, "active");

          // Give a wrong notification time to leave, then check none did.
          await new Promise((resolve) => setTimeout(resolve, 3_000));
          for (const path of ["/slack_alerts_platform_url", "/slack_alerts_warnings_url"]) {
            assert.deepEqual(
              slackMessages(recorder.requests, path, "HighDatabaseLatency"),
              [],
              path,
            );
          }
          const [up] = await promQuery(prometheus.url, "comptoir_db_up");
          assert.equal(up.value, 0);
        });
      },
    );
  } finally {
    traffic.abort();
    await sending.catch(() => 0);
    await stack.stop();
  }
});
