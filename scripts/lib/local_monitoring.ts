/**
 * The local monitoring stack of `deno task monitoring:up`: Prometheus with the shipped recording
 * and alerting rules scraping the running dev gateway's `metrics` function, the shipped
 * Alertmanager configuration with its `comptoir-alerts` receiver pointed at the same gateway's
 * `alerts` function (with the bearer token the dev stack checks) and every Slack channel and
 * PagerDuty pointed at a local recorder (a stand-in for Slack that keeps what it receives,
 * readable at `/messages`), all on loopback.
 * One supervisor process holds the three and stops them together; `.local/monitoring/state.json`
 * says where they are, so `monitoring:down` (another process) can stop them.
 * @module
 */
import { fileURLToPath } from "node:url";
import { StackError } from "./command.ts";
import {
  type RunningAlertmanager,
  secretFilesOf,
  SHIPPED_ALERTMANAGER_CONFIG,
  startAlertmanager,
} from "./alertmanager.ts";
import { type RunningPrometheus, startPrometheus } from "./prometheus.ts";

/**
 * Where the supervisor writes its state file and log: `.local/monitoring/` of the checkout, or
 * `COMPTOIR_MONITORING_DIR` (a test's own folder, so it never meets a developer's stack).
 */
export const MONITORING_DIR: string = (() => {
  const dir = Deno.env.get("COMPTOIR_MONITORING_DIR");
  if (dir) return dir.endsWith("/") ? dir : `${dir}/`;
  return fileURLToPath(new URL("../../.local/monitoring/", import.meta.url));
})();
export const STATE_FILE = `${MONITORING_DIR}state.json`;

/** What `monitoring:up` started, as written to the state file. */
export interface MonitoringState {
  pid: number;
  prometheusUrl: string;
  alertmanagerUrl: string;
  slackUrl: string;
  metricsUrl: string;
  /** Where Alertmanager's comptoir-alerts receiver posts: the dev gateway's alerts function. */
  alertsWebhookUrl: string;
  startedAt: string;
}

/** Options of {@linkcode startLocalMonitoring}. */
export interface LocalMonitoringOptions {
  /** Base URL of the dev gateway, e.g. http://127.0.0.1:54321. */
  apiUrl: string;
  /** Bearer token of the metrics function. */
  token: string;
  /** Bearer token Alertmanager sends to the alerts function (its COMPTOIR_ALERTMANAGER_TOKEN). */
  alertsToken: string;
  prometheusPort: number;
  alertmanagerPort: number;
  slackPort: number;
  /** Scrape and evaluation interval. */
  interval?: string;
  /** group_wait / group_interval of 1 s instead of the shipped ones (demos, tests). */
  fastTimers?: boolean;
}

/** A message the Slack recorder received. */
export interface RecordedMessage {
  /** The channel, from the webhook path (`/slack/<channel>`), or `pagerduty`. */
  channel: string;
  receivedAt: string;
  body: unknown;
}

/** A running local monitoring stack. */
export interface LocalMonitoring {
  state: Omit<MonitoringState, "pid" | "startedAt">;
  messages: RecordedMessage[];
  stop(): Promise<void>;
}

/**
 * Starts the recorder, Alertmanager and Prometheus, in that order (each needs the previous).
 *
 * @example
 * ```ts
 * const monitoring = await startLocalMonitoring({
 *   apiUrl: "http://127.0.0.1:54321",
 *   token: "local-token",
 *   alertsToken: "local-alerts-token",
 *   prometheusPort: 9090,
 *   alertmanagerPort: 9093,
 *   slackPort: 9094,
 * });
 * await monitoring.stop();
 * ```
 */
export async function startLocalMonitoring(
  options: LocalMonitoringOptions,
): Promise<LocalMonitoring> {
  const { apiUrl, token, alertsToken, interval = "5s", fastTimers = false } = options;
  const api = new URL(apiUrl);
  if (api.protocol !== "http:" && api.protocol !== "https:") {
    throw new StackError(`--api-url must be an http(s) URL, got ${apiUrl}`);
  }
  const alertsWebhookUrl = `${api.origin}/functions/v1/alerts/alertmanager`;
  const messages: RecordedMessage[] = [];
  const recorder = startSlackRecorder(options.slackPort, messages);
  let alertmanager: RunningAlertmanager | undefined;
  let prometheus: RunningPrometheus | undefined;
  try {
    const shipped = await Deno.readTextFile(SHIPPED_ALERTMANAGER_CONFIG);
    const secrets: Record<string, string> = {};
    for (const name of secretFilesOf(shipped)) {
      const channel = /^slack_(.+)_url$/.exec(name)?.[1];
      if (channel) secrets[name] = `${recorder.url}/slack/${channel}`;
      else if (name === "comptoir_alerts_token") secrets[name] = alertsToken;
      else secrets[name] = "local-routing-key";
    }
    alertmanager = await startAlertmanager({
      port: options.alertmanagerPort,
      secrets,
      pagerdutyUrl: `${recorder.url}/pagerduty`,
      alertsWebhookUrl,
      fastTimers,
    });
    prometheus = await startPrometheus({
      port: options.prometheusPort,
      metricsTargets: [api.host],
      metricsToken: token,
      alertmanagerTargets: [`127.0.0.1:${alertmanager.port}`],
      scrapeInterval: interval,
      evaluationInterval: interval,
    });
  } catch (err) {
    await alertmanager?.stop();
    await recorder.stop();
    throw err;
  }
  return {
    state: {
      prometheusUrl: prometheus.url,
      alertmanagerUrl: alertmanager.url,
      slackUrl: recorder.url,
      metricsUrl: `${api.origin}/functions/v1/metrics`,
      alertsWebhookUrl,
    },
    messages,
    stop: async () => {
      await prometheus.stop();
      await alertmanager.stop();
      await recorder.stop();
    },
  };
}

/**
 * A stand-in for Slack's incoming webhooks (and PagerDuty's Events API): `POST` anything is kept
 * and answered `ok`, `GET /messages` lists what came, newest last.
 */
function startSlackRecorder(port: number, messages: RecordedMessage[]) {
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/messages") return Response.json(messages);
    if (req.method !== "POST") return new Response("not found", { status: 404 });
    const text = await req.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Keep the text.
    }
    const channel = path.startsWith("/slack/") ? path.slice("/slack/".length) : path.slice(1);
    const message = { channel, receivedAt: new Date().toISOString(), body };
    messages.push(message);
    console.log(JSON.stringify({ level: "info", msg: "notification received", channel }));
    // PagerDuty's Events API answers 202 with a status; Slack answers 200 `ok`.
    return channel === "pagerduty"
      ? Response.json({ status: "success", message: "Event processed" }, { status: 202 })
      : new Response("ok");
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, stop: () => server.shutdown() };
}

/** The state file's content, or undefined when nothing is running. */
export async function readMonitoringState(): Promise<MonitoringState | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(STATE_FILE)) as MonitoringState;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Whether a process with this id exists. */
export function processAlive(pid: number): boolean {
  try {
    // Signal 0 is not exposed; SIGCONT is harmless to a running process and fails for a gone one.
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}
