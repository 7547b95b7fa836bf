/**
 * `deno task monitoring:up` / `monitoring:down`: Prometheus (shipped rules, scraping the running
 * dev gateway's `metrics` function) and Alertmanager (shipped routing: every alert to the same
 * gateway's `alerts` function, every Slack channel and PagerDuty to a local recorder) on
 * loopback, in the background; `up` prints their URLs and returns, `down` stops them. See
 * docs/guides/quick-start-monitoring.md.
 *
 * Options of `up`: `--api-url` (default http://127.0.0.1:54321), `--token` (default
 * $COMPTOIR_METRICS_TOKEN, else the local stack's default), `--alerts-token` (default
 * $COMPTOIR_ALERTMANAGER_TOKEN, else the local stack's default), `--prometheus-port` (9090),
 * `--alertmanager-port` (9093), `--slack-port` (9094), `--interval` (scrape and evaluation,
 * default 5s), `--fast-timers` (group_wait and group_interval of 1 s).
 * @module
 */
import { parseArgs } from "node:util";
import { runMain, StackError } from "./lib/command.ts";
import { loadEnvFile } from "./lib/dev_stack.ts";
import { localAlertmanagerToken, localMetricsToken } from "./lib/local_keys.ts";
import {
  MONITORING_DIR,
  type MonitoringState,
  processAlive,
  readMonitoringState,
  startLocalMonitoring,
  STATE_FILE,
} from "./lib/local_monitoring.ts";

const LOG_FILE = `${MONITORING_DIR}monitoring.log`;

await runMain(async () => {
  const [action = "up", ...rest] = Deno.args;
  const { values } = parseArgs({
    args: rest,
    options: {
      "api-url": { type: "string", default: "http://127.0.0.1:54321" },
      token: { type: "string" },
      "alerts-token": { type: "string" },
      "prometheus-port": { type: "string", default: "9090" },
      "alertmanager-port": { type: "string", default: "9093" },
      "slack-port": { type: "string", default: "9094" },
      interval: { type: "string", default: "5s" },
      "fast-timers": { type: "boolean", default: false },
    },
  });
  switch (action) {
    case "up":
      return await up(rest);
    case "down":
      return await down();
    case "serve":
      return await serve(values);
    default:
      throw new StackError(`unknown action ${action}; use up or down`);
  }
});

/** Starts the supervisor in the background and waits until it is ready. */
async function up(args: string[]): Promise<void> {
  const running = await readMonitoringState();
  if (running && processAlive(running.pid)) {
    printUrls(running, "monitoring is already running");
    return;
  }
  await Deno.mkdir(MONITORING_DIR, { recursive: true });
  await Deno.remove(STATE_FILE).catch(() => {});
  await Deno.writeTextFile(LOG_FILE, "");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./monitoring.ts", import.meta.url).pathname, "serve", ...args],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const state = await readMonitoringState().catch(() => undefined);
    if (state?.pid === child.pid) {
      printUrls(state, "monitoring is running");
      return;
    }
    if (exited) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const log = await Deno.readTextFile(LOG_FILE).catch(() => "");
  if (!exited) Deno.kill(child.pid, "SIGTERM");
  throw new StackError(`monitoring did not start:\n${log.trim() || "(no output)"}`);
}

/** Stops the supervisor (which stops Prometheus, Alertmanager and the recorder). */
async function down(): Promise<void> {
  const state = await readMonitoringState();
  if (!state || !processAlive(state.pid)) {
    await Deno.remove(STATE_FILE).catch(() => {});
    console.log("monitoring is not running");
    return;
  }
  Deno.kill(state.pid, "SIGTERM");
  const deadline = Date.now() + 20_000;
  while (processAlive(state.pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (processAlive(state.pid)) Deno.kill(state.pid, "SIGKILL");
  await Deno.remove(STATE_FILE).catch(() => {});
  console.log("monitoring stopped (Prometheus, Alertmanager, Slack recorder)");
}

/** The supervisor: runs the stack until SIGTERM or SIGINT; logs to .local/monitoring/. */
async function serve(values: Record<string, string | boolean | undefined>): Promise<void> {
  const log = (line: string) => Deno.writeTextFile(LOG_FILE, line + "\n", { append: true });
  const port = (name: string) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new StackError(`bad --${name}`);
    return n;
  };
  let monitoring;
  try {
    await loadEnvFile();
    monitoring = await startLocalMonitoring({
      apiUrl: String(values["api-url"]),
      token: (values.token as string | undefined) ?? localMetricsToken(),
      alertsToken: (values["alerts-token"] as string | undefined) ?? localAlertmanagerToken(),
      prometheusPort: port("prometheus-port"),
      alertmanagerPort: port("alertmanager-port"),
      slackPort: port("slack-port"),
      interval: String(values.interval),
      fastTimers: values["fast-timers"] === true,
    });
  } catch (err) {
    await log(`error: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
  const state: MonitoringState = {
    pid: Deno.pid,
    ...monitoring.state,
    startedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(STATE_FILE, JSON.stringify(state, null, 2));
  await log(`running: ${JSON.stringify(state)}`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await monitoring.stop();
    await Deno.remove(STATE_FILE).catch(() => {});
    await log("stopped");
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}

function printUrls(state: MonitoringState, headline: string): void {
  console.log(`${headline}

  Prometheus        ${state.prometheusUrl}   (alerts: ${state.prometheusUrl}/alerts)
  Alertmanager      ${state.alertmanagerUrl}
  Slack recorder    ${state.slackUrl}/messages   (every Slack channel and PagerDuty land here)
  alerts function   ${state.alertsWebhookUrl}   (every alert, with the alerts token)
  scraping          ${state.metricsUrl}

  check it:  deno task monitoring:verify --metrics-url ${state.metricsUrl} \\
               --prometheus-url ${state.prometheusUrl} --alertmanager-url ${state.alertmanagerUrl}
  stop it:   deno task monitoring:down`);
}
