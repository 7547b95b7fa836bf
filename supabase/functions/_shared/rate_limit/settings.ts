/**
 * Rate limiting as the deployment configures it, read from the environment once per isolate:
 *
 * | variable                      | values                                   | default    |
 * | ----------------------------- | ---------------------------------------- | ---------- |
 * | `COMPTOIR_RATE_LIMIT_BACKEND` | `postgres`, `upstash`, `off`             | `postgres` |
 * | `COMPTOIR_TRUSTED_PROXY`      | proxies that append to `X-Forwarded-For` | required   |
 * | `COMPTOIR_RATE_LIMITS`        | JSON of per-policy changes               | none       |
 * | `COMPTOIR_RATE_LIMIT_ADAPTIVE`| `on`, `off`                              | `on`       |
 *
 * `postgres` works on any Postgres, the embedded PGlite included; `upstash` needs
 * `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`. A wrong value stops the function at
 * start rather than letting it run with limits nobody chose.
 *
 * `COMPTOIR_TRUSTED_PROXY` has no default because no default is right everywhere: `0` (the
 * function is reached directly, the connection's peer is the client; the local stack sets it) is
 * wrong behind Supabase's gateway, where every peer is the gateway itself, and `1` (hosted
 * Supabase) is wrong where nothing appends to `X-Forwarded-For`. Left unset while a per-address
 * policy is in force, the function refuses to start ({@linkcode checkClientAddressSetting}).
 * @module
 */
import { defineRateLimitPolicies, type PolicyDefinition } from "./policies.ts";
import type { RateLimitPolicy } from "./types.ts";
import { UPSTASH_TOKEN_ENV, UPSTASH_URL_ENV } from "../resilience/upstash_client.ts";

/** Where counters live, or `off`. */
export type RateLimitBackendKind = "postgres" | "upstash" | "off";

/** Names of the environment variables. */
export const RATE_LIMIT_ENV = {
  backend: "COMPTOIR_RATE_LIMIT_BACKEND",
  trustedProxy: "COMPTOIR_TRUSTED_PROXY",
  limits: "COMPTOIR_RATE_LIMITS",
  adaptive: "COMPTOIR_RATE_LIMIT_ADAPTIVE",
} as const;

/** The configuration in force. */
export interface RateLimitSettings {
  backend: RateLimitBackendKind;
  /**
   * Proxies in front of the function that append the client address to `X-Forwarded-For`;
   * 0 believes no forwarding header (the peer address is the client); `null` when not configured.
   */
  trustedProxies: number | null;
  /** Whether adaptive policies follow the load signals. */
  adaptive: boolean;
  /** Per-policy changes, e.g. `{ "catalog": { "limit": 50 } }`. */
  overrides: Record<string, Partial<PolicyDefinition>>;
}

const BACKENDS: readonly RateLimitBackendKind[] = ["postgres", "upstash", "off"];
const OVERRIDABLE = new Set(["algorithm", "limit", "windowMs", "refill", "failMode", "adaptive"]);

/**
 * Reads the settings; throws `TypeError` or `RangeError` naming the variable at fault.
 *
 * @example
 * ```ts
 * const settings = rateLimitSettingsFromEnv(new Map([["COMPTOIR_TRUSTED_PROXY", "1"]]));
 * settings.trustedProxies; // 1
 * ```
 */
export function rateLimitSettingsFromEnv(
  env: Pick<typeof Deno.env, "get"> = Deno.env,
): RateLimitSettings {
  const backend = (env.get(RATE_LIMIT_ENV.backend) || "postgres").trim().toLowerCase();
  if (!BACKENDS.includes(backend as RateLimitBackendKind)) {
    throw new TypeError(
      `${RATE_LIMIT_ENV.backend} must be one of ${BACKENDS.join(", ")}, got ${backend}`,
    );
  }
  if (backend === "upstash" && (!env.get(UPSTASH_URL_ENV) || !env.get(UPSTASH_TOKEN_ENV))) {
    throw new TypeError(
      `${RATE_LIMIT_ENV.backend}=upstash needs ${UPSTASH_URL_ENV} and ${UPSTASH_TOKEN_ENV}`,
    );
  }

  const proxies = (env.get(RATE_LIMIT_ENV.trustedProxy) ?? "").trim();
  const trustedProxies = proxies === "" ? null : Number(proxies);
  if (
    trustedProxies !== null && (!/^\d+$/.test(proxies) || !Number.isSafeInteger(trustedProxies))
  ) {
    throw new RangeError(
      `${RATE_LIMIT_ENV.trustedProxy} must be the number of proxies in front of the function ` +
        `that append the client address to X-Forwarded-For (e.g. 1), got ${proxies}`,
    );
  }

  const adaptive = (env.get(RATE_LIMIT_ENV.adaptive) || "on").trim().toLowerCase();
  if (adaptive !== "on" && adaptive !== "off") {
    throw new TypeError(`${RATE_LIMIT_ENV.adaptive} must be on or off, got ${adaptive}`);
  }

  return {
    backend: backend as RateLimitBackendKind,
    trustedProxies,
    adaptive: adaptive === "on",
    overrides: parseOverrides(env.get(RATE_LIMIT_ENV.limits)),
  };
}

/**
 * Throws when per-address policies are in force and nothing says where client addresses come
 * from: with `COMPTOIR_TRUSTED_PROXY` unset the function could not tell one client from another,
 * so a single client could use up the limit of everybody.
 *
 * @example
 * ```ts
 * checkClientAddressSetting(rateLimitSettingsFromEnv(), Object.values(policies));
 * ```
 */
export function checkClientAddressSetting(
  settings: RateLimitSettings,
  policies: readonly RateLimitPolicy[],
): void {
  if (settings.backend === "off" || settings.trustedProxies !== null) return;
  const perAddress = policies.filter((p) => p.identity === "ip").map((p) => p.name);
  if (perAddress.length === 0) return;
  throw new TypeError(
    `${RATE_LIMIT_ENV.trustedProxy} is not set, so ${perAddress.join(", ")} cannot tell ` +
      `clients apart: set it to the number of proxies that append the client address to ` +
      `X-Forwarded-For (1 on hosted Supabase), or to 0 when clients reach the function ` +
      `directly and the connection's peer is the client`,
  );
}

function parseOverrides(raw: string | undefined): Record<string, Partial<PolicyDefinition>> {
  if (raw === undefined || raw.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new TypeError(`${RATE_LIMIT_ENV.limits} is not valid JSON`);
  }
  if (!isRecord(parsed)) {
    throw new TypeError(`${RATE_LIMIT_ENV.limits} must be a JSON object keyed by policy name`);
  }
  for (const [name, change] of Object.entries(parsed)) {
    if (!isRecord(change)) {
      throw new TypeError(`${RATE_LIMIT_ENV.limits}.${name} must be an object`);
    }
    for (const field of Object.keys(change)) {
      if (!OVERRIDABLE.has(field)) {
        throw new TypeError(
          `${RATE_LIMIT_ENV.limits}.${name}.${field} cannot be changed (allowed: ${
            [...OVERRIDABLE].join(", ")
          })`,
        );
      }
    }
  }
  return parsed as Record<string, Partial<PolicyDefinition>>;
}

/**
 * A policy table with `overrides` applied and checked again; throws `RangeError` for an override
 * of a policy the table does not have (a typo must not go unnoticed).
 *
 * @example
 * ```ts
 * const policies = withOverrides(RATE_LIMIT_POLICIES, { public_read: { limit: 10 } });
 * policies.public_read.limit; // 10
 * ```
 */
export function withOverrides<const T extends Record<string, RateLimitPolicy>>(
  table: T,
  overrides: Record<string, Partial<PolicyDefinition>>,
): T {
  for (const name of Object.keys(overrides)) {
    if (!(name in table)) {
      throw new RangeError(
        `${RATE_LIMIT_ENV.limits} names an unknown policy ${name} (known: ${
          Object.keys(table).join(", ")
        })`,
      );
    }
  }
  const merged: Record<string, PolicyDefinition> = {};
  for (const [name, { name: _, ...definition }] of Object.entries(table)) {
    const change = overrides[name] ?? {};
    const next: PolicyDefinition = { ...definition, ...change };
    // A refill only means something to a token bucket; switching away drops it.
    if (next.algorithm !== "token_bucket") delete (next as { refill?: number }).refill;
    merged[name] = next;
  }
  return defineRateLimitPolicies(merged) as unknown as T;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
