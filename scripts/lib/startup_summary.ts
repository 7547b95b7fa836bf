/**
 * The protection in force, in a few lines a person reads at `deno task dev` start-up: where rate
 * limits count, each policy's limit, the database breaker, the local Auth's limits, and the one
 * warning that matters locally — per-address limits see every client of the machine as one. The
 * functions keep their structured JSON start-up line for log tooling; this is its human twin.
 * @module
 */
import type { LocalAuthSettings } from "./local_auth/settings.ts";

interface PolicySummary {
  name: string;
  algorithm: string;
  limit: number;
  refill?: number;
  window_ms: number;
  identity: string;
  fail: string;
}

interface ProtectionSummary {
  rate_limit?: { backend?: string; store?: string; adaptive?: boolean; client_address?: string };
  policies?: PolicySummary[];
  breaker?: { name?: string; failure_threshold?: number; open_ms?: number; store?: string };
}

const IDENTITY: Record<string, string> = { ip: "address", user: "user", api_key: "API key" };

/**
 * The summary lines for the api's protection summary and the local Auth's settings.
 *
 * @example
 * ```ts
 * protectionLines(apiProtectionSummary(), await readLocalAuthSettings()).join("\n");
 * ```
 */
export function protectionLines(
  summary: Readonly<Record<string, unknown>>,
  auth: Pick<LocalAuthSettings, "signInSignUpsPer5Min" | "tokenRefreshPer5Min">,
): string[] {
  const { rate_limit: rateLimit = {}, policies = [], breaker = {} } = summary as ProtectionSummary;
  const lines: string[] = [];
  if (rateLimit.backend === "off" || policies.length === 0) {
    lines.push("rate limits OFF (COMPTOIR_RATE_LIMIT_BACKEND=off)");
  } else {
    lines.push(
      `rate limits counted in ${rateLimit.backend}${rateLimit.adaptive ? ", adaptive" : ""}; ` +
        `client address: ${rateLimit.client_address ?? "connection peer"}`,
    );
    for (const p of policies) lines.push(`  ${p.name.padEnd(14)} ${describePolicy(p)}`);
  }
  lines.push(
    `  ${"auth".padEnd(14)} ${auth.signInSignUpsPer5Min} sign-ins/sign-ups and ` +
      `${auth.tokenRefreshPer5Min} refreshes per address per 5 min`,
  );
  if (breaker.failure_threshold !== undefined && breaker.open_ms !== undefined) {
    lines.push(
      `${breaker.name ?? "database"} breaker opens after ${breaker.failure_threshold} failures ` +
        `for ${seconds(breaker.open_ms)} (state in ${breaker.store ?? "memory"})`,
    );
  }
  const perAddress = policies.filter((p) => p.identity === "ip").map((p) => p.name);
  if (rateLimit.backend !== "off" && rateLimit.client_address === "connection peer") {
    lines.push(
      `warning: per-address limits (${[...perAddress, "auth"].join(", ")}) see every local ` +
        `client as 127.0.0.1:`,
      "  a front-end, a script and a benchmark on this machine share one budget",
    );
  }
  return lines;
}

function describePolicy(p: PolicySummary): string {
  const who = `per ${IDENTITY[p.identity] ?? p.identity}`;
  const rate = p.algorithm === "token_bucket"
    ? `burst ${p.limit}, then ${p.refill ?? p.limit} every ${seconds(p.window_ms)}`
    : `${p.limit} per ${seconds(p.window_ms)}`;
  return `${rate} ${who}${p.fail === "closed" ? ", refused while the store is down" : ""}`;
}

function seconds(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}
