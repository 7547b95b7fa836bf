/**
 * Hono middleware that applies one rate-limit policy to a route: 429 problem+json with
 * `Retry-After` when the limit is reached, 503 when the store is down and the policy fails closed,
 * and the rate-limit headers on every response, allowed ones included.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { type Clock, realClock } from "../clock.ts";
import { problem, ProblemError } from "../http/problem.ts";
import type { AdaptiveLimit } from "./adaptive.ts";
import { rateLimitHeaders } from "./headers.ts";
import { type RateLimitDecision, RateLimiter } from "./limiter.ts";
import type { RateLimitBackend, RateLimitPolicy } from "./types.ts";

/** Options of {@linkcode rateLimit}. */
export interface RateLimitMiddlewareOptions {
  /** The policy (from `RATE_LIMIT_POLICIES`). */
  policy: RateLimitPolicy;
  /** Where counters live; ignored when `limiter` is given. */
  backend?: RateLimitBackend;
  /** A limiter shared by several routes (one adaptive factor, one set of counters). */
  limiter?: RateLimiter;
  /**
   * The identity value for `policy.identity`: the verified JWT `sub`, the hashed API key, or the
   * client address (see identity.ts). `null` (unknown) counts in the small unknown bucket.
   */
  identify: (c: Context) => string | null | undefined | Promise<string | null | undefined>;
  /** Adaptive factor, when no `limiter` is given. */
  adaptive?: AdaptiveLimit;
  /** Observes this route's decisions. */
  onDecision?: (decision: RateLimitDecision) => void;
  clock?: Clock;
}

/**
 * Creates the middleware.
 *
 * @example
 * ```ts
 * app.post(
 *   "/v1/orders",
 *   rateLimit({
 *     policy: RATE_LIMIT_POLICIES.checkout,
 *     backend,
 *     identify: (c) => c.get("user")?.sub,
 *   }),
 *   createOrder,
 * );
 * ```
 */
export function rateLimit(
  { policy, backend, limiter, identify, adaptive, onDecision, clock = realClock }:
    RateLimitMiddlewareOptions,
): MiddlewareHandler {
  if (!limiter && !backend) throw new TypeError("rateLimit() needs a backend or a limiter");
  const rl = limiter ?? new RateLimiter({ backend: backend!, adaptive, clock });
  return async function rateLimit(c, next) {
    const decision = await rl.check(policy, await identify(c));
    onDecision?.(decision);
    const headers = rateLimitHeaders(policy, decision, clock.now());
    if (decision.outcome === "limited") {
      throw new ProblemError(
        problem(
          "rate-limited",
          `Rate limit ${policy.name} reached; retry after the indicated delay`,
          { policy: policy.name, retry_after_ms: decision.retryAfterMs },
        ),
        { headers },
      );
    }
    if (decision.outcome === "fail_closed") {
      throw new ProblemError(
        problem(
          "rate-limit-unavailable",
          "Rate limiting is temporarily unavailable and this route does not run without it",
          { policy: policy.name, retry_after_ms: decision.retryAfterMs },
        ),
        { headers },
      );
    }
    await next();
    setHeaders(c, headers);
  };
}

function setHeaders(c: Context, headers: Headers): void {
  try {
    for (const [name, value] of headers) c.res.headers.set(name, value);
  } catch {
    // Responses passed through from fetch() have immutable headers: copy them.
    const res = new Response(c.res.body, c.res);
    for (const [name, value] of headers) res.headers.set(name, value);
    c.res = res;
  }
}
