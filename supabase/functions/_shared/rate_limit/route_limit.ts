/**
 * Rate limiting of one route in a function built on the shared app: the identity a policy names is
 * taken from the request — the verified caller for `user`, the hashed `X-API-Key` for `api_key`,
 * the client address for `ip` (forwarding headers believed only behind trusted proxies) — and the
 * middleware chain is the limiter, then the load monitor that feeds adaptive limits with what the
 * admitted requests experience (refused ones say nothing about the function's health).
 *
 * Limits run before the work they protect: per-address and per-key limits before
 * authentication (a flood of bad tokens is counted too), per-user limits as soon as the caller is
 * known and allowed, and both before validation, so bad input counts like any other request.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { callerOf } from "../auth/caller.ts";
import { clientAddress, hashApiKey } from "./identity.ts";
import type { LoadMonitor } from "./load_monitor.ts";
import type { RateLimiter } from "./limiter.ts";
import { rateLimit } from "./middleware.ts";
import type { IdentityKind, RateLimitPolicy } from "./types.ts";

/** Options of {@linkcode limitRoute}. */
export interface LimitRouteOptions {
  policy: RateLimitPolicy;
  /** The function's limiter (one adaptive factor, one set of counters). */
  limiter: RateLimiter;
  /** Proxies trusted to append to `X-Forwarded-For` (see identity.ts). Default 0. */
  trustedProxies?: number;
  /** Records admitted requests for adaptive limits. */
  monitor?: LoadMonitor;
}

/**
 * When a policy's identity is known: `before_auth` for addresses and API keys (they are in the
 * request), `after_auth` for users (the verified caller).
 *
 * @example
 * ```ts
 * limitPhase(policy) === "before_auth" ? beforeAuth.push(...chain) : afterAuth.push(...chain);
 * ```
 */
export function limitPhase(policy: RateLimitPolicy): "before_auth" | "after_auth" {
  return policy.identity === "user" ? "after_auth" : "before_auth";
}

/**
 * The middleware of a rate-limited route, to run where {@linkcode limitPhase} says and before
 * validation.
 *
 * @example
 * ```ts
 * api.route({ ..., middleware: limitRoute({ policy, limiter, trustedProxies: 1 }) });
 * ```
 */
export function limitRoute(
  { policy, limiter, trustedProxies = 0, monitor }: LimitRouteOptions,
): MiddlewareHandler[] {
  const chain = [
    rateLimit({ policy, limiter, identify: identify(policy.identity, trustedProxies) }),
  ];
  if (monitor) chain.push(monitor.middleware());
  return chain;
}

/**
 * How a request names its identity of `kind`; `null` when it cannot be known (counted in the
 * kind's small unknown bucket). `user` needs `authenticate()` before it: a signed-in user is their
 * id, the service role is one identity, anybody else unknown.
 *
 * @example
 * ```ts
 * const ip = identify("ip", 1);
 * ```
 */
export function identify(
  kind: IdentityKind,
  trustedProxies = 0,
): (c: Context) => string | null | Promise<string | null> {
  switch (kind) {
    case "user":
      return (c) => {
        const caller = callerOf(c);
        return caller.userId ?? (caller.role === "service_role" ? "service_role" : null);
      };
    case "api_key":
      return (c) => {
        const key = c.req.header("x-api-key");
        return key ? hashApiKey(key) : null;
      };
    case "ip":
      return (c) =>
        clientAddress(c.req.raw.headers, { trustedProxies, connectionAddress: peerAddress(c) });
  }
}

/**
 * The TCP peer: Deno.serve's connection info, which `Deno.serve(app.fetch)` and the local gateway
 * hand the app as Hono's `c.env`.
 */
function peerAddress(c: Context): string | null {
  const env = c.env as { remoteAddr?: { hostname?: unknown } } | undefined;
  const hostname = env?.remoteAddr?.hostname;
  return typeof hostname === "string" ? hostname : null;
}
