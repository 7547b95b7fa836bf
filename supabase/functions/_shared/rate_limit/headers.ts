/**
 * Rate-limit response headers: `RateLimit-Policy` and `RateLimit` as in
 * draft-ietf-httpapi-ratelimit-headers (-08 and later: a quoted policy name with `q` quota and `w`
 * window seconds; `r` remaining and `t` seconds to reset), the widespread `X-RateLimit-Limit`,
 * `-Remaining` and `-Reset` (Unix seconds, as GitHub sends it), and `Retry-After` when refused.
 * @module
 */
import type { RateLimitPolicy, RateLimitRule } from "./types.ts";

/** What the headers report. */
export interface HeaderFacts {
  /** The rule in force (after adaptive scaling). */
  rule: RateLimitRule;
  /** Left after this request; `null` when unknown (store down). */
  remaining: number | null;
  /** Epoch ms of the reset; `null` when unknown. */
  resetAt: number | null;
  /** For refused requests: ms until a retry may succeed. */
  retryAfterMs?: number;
}

/**
 * Builds the headers for a response.
 *
 * @example
 * ```ts
 * const headers = rateLimitHeaders(policy, { rule, remaining: 4, resetAt: now + 30_000 }, now);
 * headers.get("ratelimit"); // "\"public_read\";r=4;t=30"
 * ```
 */
export function rateLimitHeaders(
  policy: RateLimitPolicy,
  { rule, remaining, resetAt, retryAfterMs }: HeaderFacts,
  now: number,
): Headers {
  const headers = new Headers();
  // A token bucket has no window; `w` is the time an empty bucket takes to fill up again, the
  // period over which `q` requests are really available.
  const windowMs = rule.algorithm === "token_bucket"
    ? Math.ceil(rule.limit / rule.refill) * rule.windowMs
    : rule.windowMs;
  const name = JSON.stringify(policy.name);
  headers.set("ratelimit-policy", `${name};q=${rule.limit};w=${Math.ceil(windowMs / 1000)}`);
  headers.set("x-ratelimit-limit", String(rule.limit));
  if (remaining !== null && resetAt !== null) {
    const seconds = Math.max(0, Math.ceil((resetAt - now) / 1000));
    headers.set("ratelimit", `${name};r=${remaining};t=${seconds}`);
    headers.set("x-ratelimit-remaining", String(remaining));
    headers.set("x-ratelimit-reset", String(Math.ceil(resetAt / 1000)));
  }
  if (retryAfterMs !== undefined) {
    headers.set("retry-after", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  }
  return headers;
}
