/**
 * `deno task monitoring:verify`: checks that the monitoring of a running comptoir works end to end
 * and prints one pass/fail line per check; exits 1 when any check fails, with the reason.
 *
 * - the `metrics` function: reachable with the token, refuses a scrape without it or with a wrong
 *   one (401 problem+json), answers a well-formed exposition in both formats with the contract's
 *   always-present families, and sees the database;
 * - Prometheus: ready, every target of the job up, rules loaded, no rule failing to evaluate;
 * - Alertmanager: ready, and its loaded configuration valid (`amtool check-config` when amtool is
 *   installed).
 *
 * Options: `--metrics-url` (default http://127.0.0.1:54321/functions/v1/metrics), `--token`
 * (default $COMPTOIR_METRICS_TOKEN, else the local stack's default token), `--prometheus-url` (default http://127.0.0.1:9090),
 * `--alertmanager-url` (default http://127.0.0.1:9093), `--job` (default comptoir),
 * `--timeout-ms` per request (default 10000).
 * @module
 */
import { parseArgs } from "node:util";
import { parseExposition } from "../supabase/functions/_shared/metrics/parse_exposition.ts";
import { FAMILIES } from "../supabase/functions/_shared/metrics/families.ts";
import { localMetricsToken } from "./lib/local_keys.ts";

/** One check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Options of {@linkcode verifyMonitoring}. */
export interface VerifyOptions {
  metricsUrl: string;
  token: string;
  prometheusUrl: string;
  alertmanagerUrl: string;
  job?: string;
  timeoutMs?: number;
}

/** Families the metrics function always renders when the database answers. */
const ALWAYS_PRESENT = FAMILIES.filter((f) => f.alwaysPresent).map((f) => f.name)
  .concat("comptoir_build_info");

/**
 * Runs every check; never throws (a check that cannot run fails with its reason).
 *
 * @example
 * ```ts
 * const results = await verifyMonitoring({
 *   metricsUrl: "http://127.0.0.1:54321/functions/v1/metrics",
 *   token: Deno.env.get("COMPTOIR_METRICS_TOKEN")!,
 *   prometheusUrl: "http://127.0.0.1:9090",
 *   alertmanagerUrl: "http://127.0.0.1:9093",
 * });
 * ```
 */
export async function verifyMonitoring(options: VerifyOptions): Promise<CheckResult[]> {
  const { job = "comptoir", timeoutMs = 10_000 } = options;
  const get = (url: string, headers: Record<string, string> = {}) =>
    fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const results: CheckResult[] = [];
  const check = async (name: string, body: () => string | Promise<string>) => {
    try {
      results.push({ name, ok: true, detail: await body() });
    } catch (err) {
      results.push({ name, ok: false, detail: err instanceof Error ? err.message : String(err) });
    }
  };
  const bearer = { authorization: `Bearer ${options.token}` };

  // The metrics function ------------------------------------------------------------------------
  let text = "";
  await check("metrics: reachable with the token", async () => {
    const started = performance.now();
    const res = await get(options.metricsUrl, bearer);
    text = await res.text();
    if (res.status !== 200) throw new Error(`answered ${res.status}: ${text.slice(0, 200)}`);
    const type = res.headers.get("content-type") ?? "";
    if (!type.startsWith("text/plain; version=0.0.4")) throw new Error(`content-type ${type}`);
    return `200 in ${(performance.now() - started).toFixed(0)} ms`;
  });
  await check("metrics: refuses a missing or wrong token", async () => {
    const attempts: Record<string, string>[] = [{}, {
      authorization: `Bearer ${options.token}-wrong`,
    }];
    for (const headers of attempts) {
      const res = await get(options.metricsUrl, headers);
      await res.body?.cancel();
      const type = res.headers.get("content-type");
      if (res.status !== 401 || type !== "application/problem+json") {
        throw new Error(
          `answered ${res.status} (${type}) to ${
            Object.keys(headers).length ? "a wrong" : "no"
          } token`,
        );
      }
    }
    return "401 problem+json";
  });
  let families: ReturnType<typeof parseExposition> | undefined;
  await check("metrics: well-formed text 0.0.4", () => {
    if (!text) throw new Error("no exposition to read");
    families = parseExposition(text);
    return `${families.size} families`;
  });
  await check("metrics: well-formed OpenMetrics 1.0", async () => {
    const res = await get(options.metricsUrl, {
      ...bearer,
      accept: "application/openmetrics-text; version=1.0.0",
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`answered ${res.status}`);
    return `${parseExposition(body, { openMetrics: true }).size} families`;
  });
  await check("metrics: expected families present", () => {
    if (!families) throw new Error("no exposition to read");
    const missing = ALWAYS_PRESENT.filter((name) => !families!.has(name));
    if (missing.length) throw new Error(`missing ${missing.join(", ")}`);
    return `${ALWAYS_PRESENT.length} always-present families`;
  });
  await check("metrics: database up", () => {
    const up = families?.get("comptoir_db_up")?.samples[0]?.value;
    if (up !== 1) throw new Error(`comptoir_db_up is ${up ?? "absent"}`);
    return "comptoir_db_up 1";
  });

  // Prometheus ----------------------------------------------------------------------------------
  const prom = options.prometheusUrl.replace(/\/$/, "");
  await check("prometheus: ready", async () => {
    const res = await get(`${prom}/-/ready`);
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`/-/ready answered ${res.status}`);
    return "ready";
  });
  await check(`prometheus: ${job} targets up`, async () => {
    const body = await json(await get(`${prom}/api/v1/targets?state=active`));
    const targets = (body.data?.activeTargets ?? []).filter(
      (t: { labels: Record<string, string> }) => t.labels.job === job,
    );
    if (targets.length === 0) throw new Error(`no active target of job ${job}`);
    const down = targets.filter((t: { health: string }) => t.health !== "up");
    if (down.length) {
      throw new Error(
        down.map((t: { scrapeUrl: string; health: string; lastError: string }) =>
          `${t.scrapeUrl} ${t.health}${t.lastError ? `: ${t.lastError}` : ""}`
        ).join("; "),
      );
    }
    return `${targets.length} up`;
  });
  let ruleGroups: {
    name: string;
    rules: { name: string; health: string; lastError?: string; type: string }[];
  }[] = [];
  await check("prometheus: rules loaded", async () => {
    const body = await json(await get(`${prom}/api/v1/rules`));
    ruleGroups = body.data?.groups ?? [];
    const rules = ruleGroups.flatMap((g) => g.rules);
    const alerts = rules.filter((r) => r.type === "alerting").length;
    if (alerts === 0) throw new Error(`${ruleGroups.length} groups, no alerting rule`);
    return `${ruleGroups.length} groups, ${alerts} alerting and ${
      rules.length - alerts
    } recording rules`;
  });
  await check("prometheus: no rule evaluation errors", () => {
    const failing = ruleGroups.flatMap((g) =>
      g.rules.filter((r) => r.health === "err" || r.lastError)
    );
    if (failing.length) {
      throw new Error(failing.map((r) => `${r.name}: ${r.lastError}`).slice(0, 5).join("; "));
    }
    if (ruleGroups.length === 0) throw new Error("no rules to judge");
    return "every rule evaluates";
  });

  // Alertmanager --------------------------------------------------------------------------------
  const am = options.alertmanagerUrl.replace(/\/$/, "");
  await check("alertmanager: ready", async () => {
    const res = await get(`${am}/-/ready`);
    await res.body?.cancel();
    if (res.status !== 200) throw new Error(`/-/ready answered ${res.status}`);
    return "ready";
  });
  await check("alertmanager: configuration valid", async () => {
    const body = await json(await get(`${am}/api/v2/status`));
    const original: string = body.config?.original ?? "";
    if (!/^route:/m.test(original) || !/^receivers:/m.test(original)) {
      throw new Error("the loaded configuration has no route or no receivers");
    }
    const amtool = await checkWithAmtool(original);
    return `loaded (cluster ${body.cluster?.status ?? "?"})${amtool ? `, ${amtool}` : ""}`;
  });
  return results;
}

async function json(res: Response) {
  if (res.status !== 200) {
    const text = await res.text();
    throw new Error(`answered ${res.status}: ${text.slice(0, 200)}`);
  }
  return await res.json();
}

/** `amtool check-config` on the loaded configuration; `undefined` when amtool is not installed. */
async function checkWithAmtool(config: string): Promise<string | undefined> {
  const file = await Deno.makeTempFile({ prefix: "comptoir-am-", suffix: ".yml" });
  try {
    await Deno.writeTextFile(file, config);
    let out;
    try {
      out = await new Deno.Command("amtool", {
        args: ["check-config", file],
        stdout: "piped",
        stderr: "piped",
      })
        .output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
    if (out.code !== 0) {
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      throw new Error(`amtool check-config: ${text.trim().split("\n").slice(-3).join(" ")}`);
    }
    return "amtool check-config passed";
  } finally {
    await Deno.remove(file);
  }
}

/** Prints the table: one line per check. */
function printTable(results: CheckResult[]): void {
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.name.padEnd(width)}  ${r.detail}`);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "metrics-url": { type: "string", default: "http://127.0.0.1:54321/functions/v1/metrics" },
      token: { type: "string" },
      "prometheus-url": { type: "string", default: "http://127.0.0.1:9090" },
      "alertmanager-url": { type: "string", default: "http://127.0.0.1:9093" },
      job: { type: "string", default: "comptoir" },
      "timeout-ms": { type: "string", default: "10000" },
    },
  });
  const token = values.token ?? localMetricsToken();
  const results = await verifyMonitoring({
    metricsUrl: values["metrics-url"]!,
    token,
    prometheusUrl: values["prometheus-url"]!,
    alertmanagerUrl: values["alertmanager-url"]!,
    job: values.job,
    timeoutMs: Number(values["timeout-ms"]),
  });
  printTable(results);
  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length} of ${results.length} checks passed`);
  if (failed.length) {
    console.error(
      `monitoring is not healthy: ${failed.map((r) => `${r.name} (${r.detail})`).join("; ")}`,
    );
    Deno.exit(1);
  }
}
