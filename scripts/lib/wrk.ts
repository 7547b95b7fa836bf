/**
 * Runs wrk (Debian package `wrk`) against a URL and reads its percentiles through a Lua `done` hook,
 * since wrk's own `--latency` table has no p95.
 * @module
 */
import { run, StackError } from "./command.ts";

/** One wrk measurement. */
export interface WrkResult {
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Options of {@linkcode wrk}. */
export interface WrkOptions {
  connections?: number;
  threads?: number;
  durationSeconds?: number;
  headers?: Record<string, string>;
  /** Lua defining `request()` to vary each request (e.g. paths drawn from a list). */
  requestScript?: string;
}

const SCRIPT = new URL("../bench/wrk_percentiles.lua", import.meta.url).pathname;

/**
 * Loads `url` with wrk and returns throughput and latency percentiles.
 *
 * @example
 * ```ts
 * const result = await wrk("http://127.0.0.1:54321/functions/v1/health", { connections: 50 });
 * ```
 */
export async function wrk(url: string, options: WrkOptions = {}): Promise<WrkResult> {
  const { connections = 50, threads = 2, durationSeconds = 10, headers = {}, requestScript } =
    options;
  let script = SCRIPT;
  if (requestScript) {
    script = await Deno.makeTempFile({ suffix: ".lua" });
    await Deno.writeTextFile(script, requestScript + "\n" + await Deno.readTextFile(SCRIPT));
  }
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${durationSeconds}s`,
    "-s",
    script,
    ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    url,
  ];
  const { stdout } = await run("wrk", args).finally(() =>
    requestScript ? Deno.remove(script).catch(() => {}) : undefined
  );
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new StackError(`wrk printed no result:\n${stdout}`);
  const f = Object.fromEntries(
    line.slice(7).split(" ").map((kv) => kv.split("=")).map(([k, v]) => [k, Number(v)]),
  );
  return {
    requests: f.requests,
    errors: f.errors,
    requestsPerSecond: f.requests / (f.duration_us / 1e6),
    p50Ms: f.p50 / 1000,
    p95Ms: f.p95 / 1000,
    p99Ms: f.p99 / 1000,
    maxMs: f.max / 1000,
  };
}
