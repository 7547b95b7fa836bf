/**
 * The whole monitoring chain for end-to-end tests: a dev server on the test database (metrics
 * token, quick flushes, the fault switch), a real Prometheus scraping its `metrics` function with
 * comptoir's recording rules and alerts, and a real Alertmanager with the shipped configuration
 * whose Slack and PagerDuty endpoints are a local recorder.
 *
 * The alerts are the shipped ones with only their `for:` durations shortened (a test cannot wait
 * 5 minutes): expressions, labels and annotations are untouched.
 * @module
 */
import { fileURLToPath } from "node:url";
import { type DevServer, startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import {
  type RunningPrometheus,
  SHIPPED_RULE_FILES,
  startPrometheus,
} from "../../scripts/lib/prometheus.ts";
import {
  type RunningAlertmanager,
  secretFilesOf,
  SHIPPED_ALERTMANAGER_CONFIG,
  startAlertmanager,
} from "../../scripts/lib/alertmanager.ts";
import { type Recorder, startRecorder } from "../monitoring/recorder.ts";
import { METRICS_TOKEN, MONITORED_ENV, waitFor } from "./_support.ts";

/** The bearer token Alertmanager sends to the dev server's alerts function. */
export const ALERTS_WEBHOOK_TOKEN = "e2e-alerts-webhook-token";

/** Ports given to the monitoring end-to-end tests. */
export const PROMETHEUS_PORT = 59190;
export const ALERTMANAGER_PORT = 59193;

const ALERTS_FILE = fileURLToPath(new URL("../../config/prometheus/alerts.yml", import.meta.url));

/** A running chain. */
export interface MonitoringStack {
  server: DevServer;
  prometheus: RunningPrometheus;
  alertmanager?: RunningAlertmanager;
  /** Receives what Alertmanager sends to Slack (`/slack_*`) and PagerDuty (`/pagerduty`). */
  recorder?: Recorder;
  stop(): Promise<void>;
}

/** Options of {@linkcode startMonitoringStack}. */
export interface MonitoringStackOptions {
  /** Start Alertmanager and the recorder too. */
  alerting?: boolean;
  /** `for:` of each alert by name; alerts not listed get `defaultFor`. */
  alertFor?: Record<string, string>;
  defaultFor?: string;
  /** Environment of the dev server, on top of {@linkcode MONITORED_ENV}. */
  env?: Record<string, string>;
  /** Prometheus' scrape interval (and timeout); 1 s by default. */
  scrapeInterval?: string;
}

/**
 * Rewrites the `for:` of every alert of an alerts file; everything else is kept byte for byte.
 *
 * @example
 * ```ts
 * shortenAlertDurations(text, { HighDatabaseLatency: "20s" }, "5s");
 * ```
 */
export function shortenAlertDurations(
  text: string,
  durations: Record<string, string>,
  defaultFor: string,
): string {
  let alert = "";
  return text.split("\n").map((line) => {
    const name = /^\s*- alert: (\S+)\s*$/.exec(line);
    if (name) alert = name[1];
    const forLine = /^(\s*)for: \S+\s*$/.exec(line);
    return forLine ? `${forLine[1]}for: ${durations[alert] ?? defaultFor}` : line;
  }).join("\n");
}

/**
 * Starts the chain and waits until Prometheus has scraped the dev server once.
 *
 * @example
 * ```ts
 * const stack = await startMonitoringStack({ alerting: true });
 * try { ... } finally { await stack.stop(); }
 * ```
 */
export async function startMonitoringStack(
  { alerting = false, alertFor = {}, defaultFor = "5s", env = {}, scrapeInterval }:
    MonitoringStackOptions = {},
): Promise<MonitoringStack> {
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };
  try {
    const server = await startDevServer({
      dbUrl: testDatabaseUrl(),
      env: { ...MONITORED_ENV, COMPTOIR_ALERTMANAGER_TOKEN: ALERTS_WEBHOOK_TOKEN, ...env },
    });
    cleanups.push(() => server.stop());

    let recorder: Recorder | undefined;
    let alertmanager: RunningAlertmanager | undefined;
    if (alerting) {
      const rec = startRecorder();
      recorder = rec;
      cleanups.push(() => rec.stop());
      const config = await Deno.readTextFile(SHIPPED_ALERTMANAGER_CONFIG);
      const secrets: Record<string, string> = Object.fromEntries(
        secretFilesOf(config).map((name) => [name, `${rec.url}/${name}`]),
      );
      secrets.pagerduty_routing_key = "e2e-routing-key";
      secrets.comptoir_alerts_token = ALERTS_WEBHOOK_TOKEN;
      const am = await startAlertmanager({
        port: ALERTMANAGER_PORT,
        secrets,
        pagerdutyUrl: `${rec.url}/pagerduty`,
        fastTimers: true,
        // The dev server's alerts function: Prometheus's alerts join the SQL rules' there.
        alertsWebhookUrl: `${server.url}/functions/v1/alerts/alertmanager`,
      });
      alertmanager = am;
      cleanups.push(() => am.stop());
    }

    const rulesDir = await Deno.makeTempDir({ prefix: "comptoir-e2e-rules-" });
    cleanups.push(() => Deno.remove(rulesDir, { recursive: true }));
    const alerts = `${rulesDir}/alerts.yml`;
    await Deno.writeTextFile(
      alerts,
      shortenAlertDurations(await Deno.readTextFile(ALERTS_FILE), alertFor, defaultFor),
    );
    const prometheus = await startPrometheus({
      port: PROMETHEUS_PORT,
      metricsTargets: [new URL(server.url).host],
      metricsToken: METRICS_TOKEN,
      scrapeInterval,
      alertmanagerTargets: alertmanager ? [`127.0.0.1:${ALERTMANAGER_PORT}`] : [],
      ruleFiles: SHIPPED_RULE_FILES.map((file) => file.endsWith("/alerts.yml") ? alerts : file),
    });
    cleanups.push(() => prometheus.stop());

    await waitFor("a first scrape", async () => {
      const up = await promQuery(prometheus.url, 'up{job="comptoir"}');
      return up.length === 1 && up[0].value === 1 ? true : undefined;
    });
    return { server, prometheus, alertmanager, recorder, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One sample of an instant query. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/**
 * Runs an instant query; throws with Prometheus' error when it fails.
 *
 * @example
 * ```ts
 * const [up] = await promQuery(url, 'up{job="comptoir"}');
 * ```
 */
export async function promQuery(base: string, query: string): Promise<PromSample[]> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = await res.json();
  if (body.status !== "success") {
    throw new Error(`${query}: ${body.errorType}: ${body.error}`);
  }
  const { resultType, result } = body.data;
  if (resultType === "scalar") return [{ metric: {}, value: Number(result[1]) }];
  if (resultType !== "vector") return [];
  return result.map((r: { metric: Record<string, string>; value: [number, string] }) => ({
    metric: r.metric,
    value: Number(r.value[1]),
  }));
}

/** Alerts Prometheus holds, by state. */
export async function promAlerts(
  base: string,
): Promise<{ labels: Record<string, string>; state: string }[]> {
  const body = await (await fetch(`${base}/api/v1/alerts`)).json();
  return body.data.alerts;
}
