/**
 * How the `export` function protects the database: the library's `export` rate-limit policy
 * (`_shared/rate_limit/policies.ts`: 20 exports an hour per caller, fixed window, fails closed,
 * never adaptive) on the backend `COMPTOIR_RATE_LIMIT_BACKEND` selects, with
 * `COMPTOIR_RATE_LIMITS` able to change it (`{"export": {...}}`; entries naming the api's
 * policies are the api's and are left to it), and a limit of concurrent exports per caller
 * (`COMPTOIR_EXPORT_MAX_CONCURRENT`, 2 by default) held in the database by page_stream.ts.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { rateLimitBackendFor } from "../_shared/rate_limit/backend_from_settings.ts";
import { RateLimiter } from "../_shared/rate_limit/limiter.ts";
import { RATE_LIMIT_POLICIES } from "../_shared/rate_limit/policies.ts";
import { limitRoute } from "../_shared/rate_limit/route_limit.ts";
import {
  type RateLimitSettings,
  rateLimitSettingsFromEnv,
  withOverrides,
} from "../_shared/rate_limit/settings.ts";
import { recordRateLimitDecision } from "../_shared/metrics/hooks.ts";

/** The export's protection as configured. */
export interface ExportProtection {
  /** Per-caller rate limit, run once the caller is known (none when rate limiting is off). */
  middleware: MiddlewareHandler[];
  /** Exports one caller may run at once. */
  maxConcurrent: number;
  /** What is in force, as logged at start. */
  summary: Record<string, unknown>;
}

/**
 * Builds the protection for `settings`.
 *
 * @example
 * ```ts
 * const protection = createExportProtection(rateLimitSettingsFromEnv(), 2);
 * ```
 */
export function createExportProtection(
  settings: RateLimitSettings,
  maxConcurrent: number,
): ExportProtection {
  const overrides: RateLimitSettings["overrides"] = settings.overrides.export
    ? { export: settings.overrides.export }
    : {};
  const policy = withOverrides({ export: RATE_LIMIT_POLICIES.export }, overrides).export;
  const { backend, store } = rateLimitBackendFor(settings.backend);
  const limiter = backend ? new RateLimiter({ backend }) : null;
  limiter?.subscribe(recordRateLimitDecision);
  return {
    middleware: limiter
      ? limitRoute({
        policy,
        limiter,
        trustedProxies: settings.trustedProxies ?? 0,
      })
      : [],
    maxConcurrent,
    summary: {
      level: "info",
      msg: "export protection in force",
      rate_limit: limiter
        ? {
          backend: settings.backend,
          store,
          policy: policy.name,
          algorithm: policy.algorithm,
          limit: policy.limit,
          window_ms: policy.windowMs,
          identity: policy.identity,
          fail: policy.failMode,
        }
        : { backend: "off" },
      max_concurrent_per_caller: maxConcurrent,
    },
  };
}

function maxConcurrentFromEnv(): number {
  const raw = Deno.env.get("COMPTOIR_EXPORT_MAX_CONCURRENT");
  if (raw === undefined || raw === "") return 2;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 16) {
    throw new RangeError(
      `COMPTOIR_EXPORT_MAX_CONCURRENT must be an integer 1-16, got ${raw}`,
    );
  }
  return value;
}

function start(): ExportProtection {
  try {
    return createExportProtection(
      rateLimitSettingsFromEnv(),
      maxConcurrentFromEnv(),
    );
  } catch (err) {
    console.error(JSON.stringify({
      level: "error",
      msg: "export protection misconfigured",
      error: err instanceof Error ? err.message : String(err),
    }));
    throw err;
  }
}

/** The isolate's protection. */
export const protection: ExportProtection = start();
console.info(JSON.stringify(protection.summary));
