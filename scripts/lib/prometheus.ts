/**
 * A real Prometheus on loopback, for tests and the local stack. Prometheus reads no environment
 * variables in its configuration file, so the ports, targets and token file are filled into
 * `config/prometheus/prometheus.test.yml` here: the rendered file, the token, the TSDB and the log
 * live in one temporary folder that `stop()` removes.
 * @module
 */
import { fileURLToPath } from "node:url";
import { spawn, StackError } from "./command.ts";

const PROMETHEUS_DIR = fileURLToPath(new URL("../../config/prometheus/", import.meta.url));

/** Rule files shipped with comptoir, as absolute paths. */
export const SHIPPED_RULE_FILES: readonly string[] = [
  `${PROMETHEUS_DIR}recording_rules.yml`,
  `${PROMETHEUS_DIR}alerts.yml`,
];

/** The test-friendly configuration template. */
export const PROMETHEUS_TEST_TEMPLATE: string = `${PROMETHEUS_DIR}prometheus.test.yml`;

/** Options of {@linkcode startPrometheus}. */
export interface PrometheusOptions {
  /** Port on 127.0.0.1. */
  port?: number;
  /** `host:port` of the `metrics` function's gateway; none by default. */
  metricsTargets?: string[];
  /** Path of the metrics endpoint on the targets. */
  metricsPath?: string;
  /** Bearer token sent to the targets (written to a file readable by the owner only). */
  metricsToken?: string;
  /** `host:port` of Alertmanagers to notify; none by default. */
  alertmanagerTargets?: string[];
  /** Scrape interval (and timeout), Prometheus duration syntax. */
  scrapeInterval?: string;
  /** Rule evaluation interval. */
  evaluationInterval?: string;
  /** Rule files to load; comptoir's recording and alerting rules by default. */
  ruleFiles?: readonly string[];
  /** Configuration template with `${NAME}` placeholders. */
  configTemplate?: string;
  /** Prometheus binary. */
  binary?: string;
  /** How long to wait for `/-/ready`. */
  readyTimeoutMs?: number;
}

/** A running Prometheus. */
export interface RunningPrometheus {
  /** Base URL, e.g. `http://127.0.0.1:9090`. */
  url: string;
  port: number;
  pid: number;
  /** Temporary folder holding the rendered configuration, the TSDB and `prometheus.log`. */
  dir: string;
  /** Path of the rendered configuration. */
  configFile: string;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes the temporary folder. */
  stop(): Promise<void>;
}

/**
 * Replaces every `${NAME}` of a configuration template with the JSON form of `values[NAME]`, which
 * YAML reads as the same string, number or list.
 *
 * @example
 * ```ts
 * renderConfigTemplate("scrape_interval: ${INTERVAL}", { INTERVAL: "1s" });
 * // 'scrape_interval: "1s"'
 * ```
 */
export function renderConfigTemplate(template: string, values: Record<string, unknown>): string {
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    if (!Object.hasOwn(values, name)) {
      throw new RangeError(`No value for the placeholder \${${name}}`);
    }
    return JSON.stringify(values[name]);
  });
}

/**
 * Starts Prometheus on 127.0.0.1 with a rendered test configuration and waits until it is ready.
 *
 * @example
 * ```ts
 * const prometheus = await startPrometheus({
 *   port: 9090,
 *   metricsTargets: ["127.0.0.1:54321"],
 *   metricsToken: Deno.env.get("COMPTOIR_METRICS_TOKEN"),
 * });
 * console.log(prometheus.url);
 * await prometheus.stop();
 * ```
 */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const {
    port = 9090,
    metricsTargets = [],
    metricsPath = "/functions/v1/metrics",
    metricsToken = "",
    alertmanagerTargets = [],
    scrapeInterval = "1s",
    evaluationInterval = "1s",
    ruleFiles = SHIPPED_RULE_FILES,
    configTemplate = PROMETHEUS_TEST_TEMPLATE,
    binary = "prometheus",
    readyTimeoutMs = 20_000,
  } = options;
  assertPortFree(port, "Prometheus");

  const dir = await Deno.makeTempDir({ prefix: "comptoir-prometheus-" });
  try {
    const tokenFile = `${dir}/metrics_token`;
    await Deno.writeTextFile(tokenFile, metricsToken, { mode: 0o600 });
    const configFile = `${dir}/prometheus.yml`;
    await Deno.writeTextFile(
      configFile,
      renderConfigTemplate(await Deno.readTextFile(configTemplate), {
        SCRAPE_INTERVAL: scrapeInterval,
        EVALUATION_INTERVAL: evaluationInterval,
        RULE_FILES: ruleFiles,
        ALERTMANAGER_TARGETS: alertmanagerTargets,
        METRICS_PATH: metricsPath,
        METRICS_TOKEN_FILE: tokenFile,
        METRICS_TARGETS: metricsTargets,
      }),
    );
    const child = await spawnLogged(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--web.enable-lifecycle",
      ],
      `${dir}/prometheus.log`,
    );
    const url = `http://127.0.0.1:${port}`;
    const stop = async () => {
      await child.stop();
      await Deno.remove(dir, { recursive: true });
    };
    try {
      await waitReady(
        "Prometheus",
        `${url}/-/ready`,
        child,
        readyTimeoutMs,
        `${dir}/prometheus.log`,
      );
    } catch (err) {
      await child.stop();
      throw err;
    }
    return { url, port, pid: child.pid, dir, configFile, stop };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** A child process whose output goes to a log file, stopped by PID. */
export interface LoggedProcess {
  pid: number;
  /** Resolves with the exit code once the process has exited and its output is written. */
  exited: Promise<number>;
  /** SIGTERM, then SIGKILL if it is still running after 5 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Spawns `binary` with its stdout and stderr appended to `logFile`.
 *
 * @example
 * ```ts
 * const child = await spawnLogged("prometheus", ["--version"], "/tmp/p.log");
 * await child.exited;
 * ```
 */
export async function spawnLogged(
  binary: string,
  args: string[],
  logFile: string,
): Promise<LoggedProcess> {
  const log = await Deno.open(logFile, { create: true, append: true });
  let child: Deno.ChildProcess;
  try {
    child = spawn(binary, { args, stdin: "null", stdout: "piped", stderr: "piped" });
  } catch (err) {
    log.close();
    throw err;
  }
  // Both streams share one file: copy chunk by chunk rather than piping each stream into it.
  const writer = log.writable.getWriter();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) await writer.write(chunk);
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)])
    .finally(() => writer.close());
  let running = true;
  const exited = child.status.then(async (status) => {
    running = false;
    await drained;
    return status.code;
  });
  const signal = (name: Deno.Signal) => {
    try {
      Deno.kill(child.pid, name);
    } catch {
      // It exited between the check and the signal.
    }
  };
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    exited,
    stop() {
      stopping ??= (async () => {
        if (running) signal("SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const exitedInTime = await Promise.race([
          exited.then(() => true),
          new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), 5000)),
        ]);
        clearTimeout(timer);
        if (!exitedInTime) {
          signal("SIGKILL");
          await exited;
        }
      })();
      return stopping;
    },
  };
}

/**
 * Polls `readyUrl` until it answers 200; fails early, with the log's tail, if the process exits.
 *
 * @example
 * ```ts
 * await waitReady("Prometheus", "http://127.0.0.1:9090/-/ready", child, 20_000, "/tmp/p.log");
 * ```
 */
export async function waitReady(
  what: string,
  readyUrl: string,
  child: LoggedProcess,
  timeoutMs: number,
  logFile: string,
): Promise<void> {
  let exitCode: number | undefined;
  child.exited.then((code) => exitCode = code);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      throw new StackError(`${what} exited with code ${exitCode}: ${await logTail(logFile)}`);
    }
    try {
      const response = await fetch(readyUrl, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new StackError(`${what} not ready after ${timeoutMs} ms: ${await logTail(logFile)}`);
}

/** Fails with a clear message when something already listens on the port. */
export function assertPortFree(port: number, what: string): void {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new StackError(`${what} cannot start: port ${port} on 127.0.0.1 is already in use`);
    }
    throw err;
  }
}

async function logTail(logFile: string): Promise<string> {
  const text = await Deno.readTextFile(logFile).catch(() => "");
  return text.trim().split("\n").slice(-5).join("\n");
}
