/**
 * How the `api` function protects itself, in one place: the rate-limit policy of every route, the
 * backend chosen by configuration (`COMPTOIR_RATE_LIMIT_BACKEND`: `postgres` by default, `upstash`,
 * or `off`), where client addresses come from (`COMPTOIR_TRUSTED_PROXY`: the connection's peer or
 * the trusted proxy's `X-Forwarded-For` entry; required, the function does not start without it),
 * adaptive limits fed by the 5xx share and latency of the routes and by the database breaker, and
 * one JSON log line at start saying all of that. Routes name their policy (`rateLimit` in app.ts)
 * and the registry takes its chain from {@linkcode apiProtection}; `COMPTOIR_RATE_LIMITS` changes
 * a policy without a deploy (see `_shared/rate_limit/settings.ts`).
 * @module
 */
import type { RouteProtection } from "../_shared/http/openapi.ts";
import { DATABASE_BREAKER, databaseBreaker } from "../_shared/db/client.ts";
import { AdaptiveLimit } from "../_shared/rate_limit/adaptive.ts";
import { rateLimitBackendFor } from "../_shared/rate_limit/backend_from_settings.ts";
import { RateLimiter } from "../_shared/rate_limit/limiter.ts";
import { LoadMonitor } from "../_shared/rate_limit/load_monitor.ts";
import { defineRateLimitPolicies } from "../_shared/rate_limit/policies.ts";
import { limitPhase, limitRoute } from "../_shared/rate_limit/route_limit.ts";
import {
  checkClientAddressSetting,
  type RateLimitSettings,
  rateLimitSettingsFromEnv,
  withOverrides,
} from "../_shared/rate_limit/settings.ts";
import { sharedUpstash } from "../_shared/resilience/upstash_client.ts";
import { sharedBreakers } from "../_shared/resilience/breakers.ts";
import {
  recordCircuitBreakerTransition,
  recordRateLimitDecision,
} from "../_shared/metrics/hooks.ts";

/**
 * The api's rate-limit policies. Limits are per identity; adaptive ones shrink under load (see
 * docs/reference/resilience.md).
 */
export const API_RATE_LIMITS = defineRateLimitPolicies({
  /** Catalogue browsing and search, per client address: generous, a shopper clicks a lot. */
  catalog: {
    algorithm: "sliding_window",
    limit: 600,
    windowMs: 60_000,
    identity: "ip",
    failMode: "open",
  },
  /** Live stock lookups (storefronts poll them), per client address. */
  inventory: {
    algorithm: "sliding_window",
    limit: 300,
    windowMs: 60_000,
    identity: "ip",
    failMode: "open",
  },
  /**
   * Order placement, per user: a burst of 30 (a busy shopper, a retrying client), then one every
   * 30 s. Fails closed: card testing and stock hoarding go through here, and a moment of 503 is
   * better than not counting.
   */
  orders_create: {
    algorithm: "token_bucket",
    limit: 30,
    refill: 1,
    windowMs: 30_000,
    identity: "user",
    failMode: "closed",
  },
  /** A customer's own orders, per user. */
  orders_read: {
    algorithm: "sliding_window",
    limit: 300,
    windowMs: 60_000,
    identity: "user",
    failMode: "open",
  },
  /** Sales dashboard, per admin: each call aggregates weeks of sales. */
  dashboard: {
    algorithm: "sliding_window",
    limit: 60,
    windowMs: 60_000,
    identity: "user",
    failMode: "open",
  },
});

/** Name of an api policy. */
export type ApiPolicyName = keyof typeof API_RATE_LIMITS;

/** The metrics contract's `policy` value of each api policy (docs/reference/metrics.md). */
const API_POLICY_METRIC_LABELS: Readonly<Record<ApiPolicyName, string>> = {
  catalog: "anonymous",
  inventory: "anonymous",
  orders_create: "checkout",
  orders_read: "authenticated",
  dashboard: "authenticated",
};

/** The api's protection as configured. */
export interface ApiProtection {
  /** The middleware of `policy` (none when rate limiting is off). */
  middleware(policy: ApiPolicyName): RouteProtection;
  /** The adaptive factor and its recent changes. */
  readonly adaptive: AdaptiveLimit;
  /** The limiter, `null` when rate limiting is off. */
  readonly limiter: RateLimiter | null;
  /** What is in force, as logged at start, given the policy of each route. */
  summary(routes: Record<string, ApiPolicyName>): Record<string, unknown>;
}

/**
 * Builds the protection for `settings`; throws on an override naming an unknown policy or
 * breaking a policy's rules, and when per-address limits are in force but nothing says where
 * client addresses come from.
 *
 * @example
 * ```ts
 * const protection = createApiProtection(rateLimitSettingsFromEnv());
 * console.info(JSON.stringify(protection.summary));
 * ```
 */
export function createApiProtection(settings: RateLimitSettings): ApiProtection {
  // `export` is the export function's policy (export/protection.ts): the variable is shared.
  const { export: _exportPolicy, ...overrides } = settings.overrides;
  const policies = withOverrides(API_RATE_LIMITS, overrides);
  checkClientAddressSetting(settings, Object.values(policies));
  const trustedProxies = settings.trustedProxies ?? 0;
  const { backend, store } = rateLimitBackendFor(settings.backend);
  const breaker = databaseBreaker();
  const adaptive = new AdaptiveLimit({ name: "api" });
  const limiter = backend
    ? new RateLimiter({ backend, adaptive: settings.adaptive ? adaptive : undefined })
    : null;
  // Decisions and breaker transitions feed the metrics (comptoir_rate_limit_decisions_total,
  // comptoir_circuit_breaker_*).
  limiter?.subscribe((decision) =>
    recordRateLimitDecision({
      ...decision,
      policy: API_POLICY_METRIC_LABELS[decision.policy as ApiPolicyName] ?? decision.policy,
    })
  );
  sharedBreakers().subscribe(recordCircuitBreakerTransition);
  const monitor = limiter && settings.adaptive
    ? new LoadMonitor({ adaptive, openBreakers: () => breaker.status === "closed" ? 0 : 1 })
    : undefined;
  const chains = new Map<ApiPolicyName, RouteProtection>();
  for (
    const [name, policy] of Object.entries(policies) as [
      ApiPolicyName,
      typeof policies[ApiPolicyName],
    ][]
  ) {
    const chain = limiter ? limitRoute({ policy, limiter, trustedProxies, monitor }) : [];
    const before = limitPhase(policy) === "before_auth";
    chains.set(name, { beforeAuth: before ? chain : [], middleware: before ? [] : chain });
  }

  const summary = (routes: Record<string, ApiPolicyName>) => ({
    level: "info",
    msg: "api protection in force",
    rate_limit: {
      backend: settings.backend,
      store,
      adaptive: limiter !== null && settings.adaptive,
      trusted_proxies: settings.trustedProxies,
      client_address: trustedProxies > 0
        ? `X-Forwarded-For, entry appended by the outermost of ${trustedProxies} ` +
          `trusted prox${trustedProxies === 1 ? "y" : "ies"}`
        : "connection peer",
      overridden: Object.keys(overrides),
    },
    policies: limiter
      ? Object.values(policies).map((p) => ({
        name: p.name,
        algorithm: p.algorithm,
        limit: p.limit,
        ...(p.refill === undefined ? {} : { refill: p.refill }),
        window_ms: p.windowMs,
        identity: p.identity,
        fail: p.failMode,
        adaptive: p.adaptive !== false && settings.adaptive,
        routes: Object.entries(routes).filter(([, n]) => n === p.name).map(([r]) => r),
      }))
      : [],
    breaker: {
      name: DATABASE_BREAKER,
      store: sharedUpstash() ? "upstash" : "memory",
      failure_threshold: breaker.policy.failureThreshold,
      open_ms: breaker.policy.openMs,
    },
  });

  return {
    middleware: (policy) => chains.get(policy) ?? { beforeAuth: [], middleware: [] },
    adaptive,
    limiter,
    summary,
  };
}

function startProtection(): ApiProtection {
  try {
    return createApiProtection(rateLimitSettingsFromEnv());
  } catch (err) {
    // The function does not start: say why once, as a structured line, then fail the import.
    console.error(JSON.stringify({
      level: "error",
      msg: "api protection misconfigured",
      error: err instanceof Error ? err.message : String(err),
    }));
    throw err;
  }
}

/** The api's protection, from the environment (the function does not start when it is wrong). */
export const apiProtection: ApiProtection = startProtection();
