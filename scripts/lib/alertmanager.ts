/**
 * A real Alertmanager on loopback, for tests and the local stack. The shipped
 * `config/alertmanager/config.yml` reads its secrets from `/etc/alertmanager/secrets/` and sends to
 * PagerDuty's public endpoint; here it is copied with its templates into a temporary folder, the
 * secrets are written next to it, the PagerDuty URL can point elsewhere (a local receiver in
 * tests), and the grouping timers can be shortened so notifications leave within seconds.
 * @module
 */
import { fileURLToPath } from "node:url";
import { StackError } from "./command.ts";
import { assertPortFree, spawnLogged, waitReady } from "./prometheus.ts";

/** The shipped Alertmanager configuration. */
export const SHIPPED_ALERTMANAGER_CONFIG: string = fileURLToPath(
  new URL("../../config/alertmanager/config.yml", import.meta.url),
);

const SECRETS_PREFIX = "/etc/alertmanager/secrets/";

/** Options of {@linkcode startAlertmanager}. */
export interface AlertmanagerOptions {
  /** Port on 127.0.0.1. */
  port?: number;
  /** Configuration to render; its `templates/` folder is copied along. */
  configFile?: string;
  /**
   * Content of every secret file the configuration reads from `/etc/alertmanager/secrets/`, by file
   * name (e.g. `slack_alerts_critical_url`). Starting fails if one is missing.
   */
  secrets: Record<string, string>;
  /** Replaces `global.pagerduty_url`. */
  pagerdutyUrl?: string;
  /** Sets every `group_wait` and `group_interval` to 1s. */
  fastTimers?: boolean;
  /** Replaces the URL of the alerts function's webhook (the comptoir-alerts receiver). */
  alertsWebhookUrl?: string;
  /** Alertmanager binary (Debian names it prometheus-alertmanager). */
  binary?: string;
  /** How long to wait for `/-/ready`. */
  readyTimeoutMs?: number;
}

/** A running Alertmanager. */
export interface RunningAlertmanager {
  /** Base URL, e.g. `http://127.0.0.1:9093`. */
  url: string;
  port: number;
  pid: number;
  /** Temporary folder holding the rendered configuration, secrets, data and `alertmanager.log`. */
  dir: string;
  /** Path of the rendered configuration. */
  configFile: string;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and removes the temporary folder. */
  stop(): Promise<void>;
}

/**
 * Renders an Alertmanager configuration for a temporary folder: secret paths moved to
 * `secretsDir`, the PagerDuty URL replaced, timers shortened.
 *
 * @example
 * ```ts
 * const yaml = renderAlertmanagerConfig(await Deno.readTextFile(SHIPPED_ALERTMANAGER_CONFIG), {
 *   secretsDir: "/tmp/am/secrets/",
 *   fastTimers: true,
 * });
 * ```
 */
export function renderAlertmanagerConfig(
  config: string,
  { secretsDir, pagerdutyUrl, fastTimers = false, alertsWebhookUrl }: {
    secretsDir: string;
    pagerdutyUrl?: string;
    fastTimers?: boolean;
    alertsWebhookUrl?: string;
  },
): string {
  let rendered = config.replaceAll(
    SECRETS_PREFIX,
    secretsDir.endsWith("/") ? secretsDir : `${secretsDir}/`,
  );
  if (pagerdutyUrl !== undefined) {
    if (!/^ {2}pagerduty_url: .*$/m.test(rendered)) {
      throw new RangeError("The configuration has no global pagerduty_url to replace");
    }
    rendered = rendered.replace(/^( {2}pagerduty_url: ).*$/m, `$1${JSON.stringify(pagerdutyUrl)}`);
  }
  if (alertsWebhookUrl !== undefined) {
    const pattern =
      /^(\s*- url: )https:\/\/YOUR-PROJECT-REF\.supabase\.co\/functions\/v1\/alerts\/alertmanager$/m;
    if (!pattern.test(rendered)) {
      throw new RangeError("The configuration has no alerts webhook URL");
    }
    rendered = rendered.replace(pattern, `$1${JSON.stringify(alertsWebhookUrl)}`);
  }
  if (fastTimers) {
    rendered = rendered.replace(
      /^(\s*(?:- )?group_(?:wait|interval): ).*$/gm,
      (_, key) => `${key}1s`,
    );
  }
  return rendered;
}

/** Names of the secret files a configuration reads from `/etc/alertmanager/secrets/`. */
export function secretFilesOf(config: string): string[] {
  const names = new Set<string>();
  for (const match of config.matchAll(/\/etc\/alertmanager\/secrets\/([A-Za-z0-9_.-]+)/g)) {
    names.add(match[1]);
  }
  return [...names].sort();
}

/**
 * Starts Alertmanager on 127.0.0.1 (clustering off) with a rendered configuration and waits until
 * it is ready.
 *
 * @example
 * ```ts
 * const alertmanager = await startAlertmanager({
 *   port: 9093,
 *   secrets: { slack_alerts_critical_url: "http://127.0.0.1:8080/slack", ... },
 *   fastTimers: true,
 * });
 * await alertmanager.stop();
 * ```
 */
export async function startAlertmanager(
  options: AlertmanagerOptions,
): Promise<RunningAlertmanager> {
  const {
    port = 9093,
    configFile: source = SHIPPED_ALERTMANAGER_CONFIG,
    secrets,
    pagerdutyUrl,
    fastTimers = false,
    alertsWebhookUrl,
    binary = "prometheus-alertmanager",
    readyTimeoutMs = 20_000,
  } = options;
  const shipped = await Deno.readTextFile(source);
  const missing = secretFilesOf(shipped).filter((name) => !Object.hasOwn(secrets, name));
  if (missing.length > 0) {
    throw new StackError(`Alertmanager needs the secrets ${missing.join(", ")}`);
  }
  assertPortFree(port, "Alertmanager");

  const dir = await Deno.makeTempDir({ prefix: "comptoir-alertmanager-" });
  try {
    await Deno.mkdir(`${dir}/secrets`, { mode: 0o700 });
    for (const [name, value] of Object.entries(secrets)) {
      if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new RangeError(`Bad secret file name ${name}`);
      await Deno.writeTextFile(`${dir}/secrets/${name}`, value, { mode: 0o600 });
    }
    await copyTemplates(source, dir);
    const configFile = `${dir}/config.yml`;
    await Deno.writeTextFile(
      configFile,
      renderAlertmanagerConfig(shipped, {
        secretsDir: `${dir}/secrets/`,
        pagerdutyUrl,
        fastTimers,
        alertsWebhookUrl,
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    const child = await spawnLogged(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.path=${dir}/data`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.external-url=${url}`,
        "--cluster.listen-address=",
      ],
      `${dir}/alertmanager.log`,
    );
    try {
      await waitReady(
        "Alertmanager",
        `${url}/-/ready`,
        child,
        readyTimeoutMs,
        `${dir}/alertmanager.log`,
      );
    } catch (err) {
      await child.stop();
      throw err;
    }
    return {
      url,
      port,
      pid: child.pid,
      dir,
      configFile,
      stop: async () => {
        await child.stop();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

/** Copies the `templates/` folder next to the configuration, which refers to it relatively. */
async function copyTemplates(configFile: string, dir: string): Promise<void> {
  const from = configFile.slice(0, configFile.lastIndexOf("/") + 1) + "templates";
  await Deno.mkdir(`${dir}/templates`);
  try {
    for await (const entry of Deno.readDir(from)) {
      if (entry.isFile) {
        await Deno.copyFile(`${from}/${entry.name}`, `${dir}/templates/${entry.name}`);
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
