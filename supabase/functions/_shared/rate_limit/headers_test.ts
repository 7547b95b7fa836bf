import assert from "node:assert/strict";
import { rateLimitHeaders } from "./headers.ts";
import type { RateLimitPolicy } from "./types.ts";

const policy: RateLimitPolicy = {
  name: "public_read",
  algorithm: "sliding_window",
  limit: 120,
  windowMs: 60_000,
  identity: "ip",
  failMode: "open",
};
const rule = { ...policy, refill: 120 };

Deno.test("rateLimitHeaders() writes the IETF draft fields and the X-RateLimit trio", () => {
  const now = 1_700_000_000_000;
  const headers = rateLimitHeaders(policy, { rule, remaining: 7, resetAt: now + 12_300 }, now);
  assert.equal(headers.get("ratelimit-policy"), '"public_read";q=120;w=60');
  assert.equal(headers.get("ratelimit"), '"public_read";r=7;t=13');
  assert.equal(headers.get("x-ratelimit-limit"), "120");
  assert.equal(headers.get("x-ratelimit-remaining"), "7");
  assert.equal(headers.get("x-ratelimit-reset"), String(Math.ceil((now + 12_300) / 1000)));
  assert.equal(headers.get("retry-after"), null);
});

Deno.test("rateLimitHeaders() adds Retry-After when refused and omits unknown counters", () => {
  const refused = rateLimitHeaders(policy, {
    rule,
    remaining: 0,
    resetAt: 5000,
    retryAfterMs: 4100,
  }, 900);
  assert.equal(refused.get("retry-after"), "5");
  const blind = rateLimitHeaders(policy, { rule, remaining: null, resetAt: null }, 0);
  assert.equal(blind.get("ratelimit"), null);
  assert.equal(blind.get("ratelimit-policy"), '"public_read";q=120;w=60');
});

Deno.test("rateLimitHeaders() gives a token bucket the window in which its quota refills", () => {
  const bucket = {
    ...rule,
    algorithm: "token_bucket" as const,
    limit: 5,
    refill: 1,
    windowMs: 12_000,
  };
  const headers = rateLimitHeaders({ ...policy, ...bucket }, {
    rule: bucket,
    remaining: 4,
    resetAt: 12_000,
  }, 0);
  assert.equal(headers.get("ratelimit-policy"), '"public_read";q=5;w=60');
});
