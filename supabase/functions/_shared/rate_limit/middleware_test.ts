import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { createFunctionApp } from "../http/create_app.ts";
import { MemoryRateLimitBackend } from "./memory_backend.ts";
import { rateLimit } from "./middleware.ts";
import { type RateLimitBackend, type RateLimitPolicy, RateLimitStoreError } from "./types.ts";

const policy: RateLimitPolicy = {
  name: "search",
  algorithm: "sliding_window",
  limit: 2,
  windowMs: 10_000,
  identity: "ip",
  failMode: "open",
};

function app(backend: RateLimitBackend, clock: FakeClock, p: RateLimitPolicy = policy) {
  const a = createFunctionApp("api");
  a.get(
    "/search",
    rateLimit({ policy: p, backend, clock, identify: (c) => c.req.header("x-test-ip") ?? null }),
    (c) => c.json({ ok: true }),
  );
  return a;
}

Deno.test("rateLimit() answers 429 problem+json with Retry-After and the rate-limit headers", async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 2));
  const a = app(new MemoryRateLimitBackend({ clock }), clock);
  const get = () => a.request("/api/search", { headers: { "x-test-ip": "198.51.100.1" } });
  const first = await get();
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("ratelimit-policy"), '"search";q=2;w=10');
  assert.equal(first.headers.get("ratelimit"), '"search";r=1;t=8');
  assert.equal(first.headers.get("x-ratelimit-remaining"), "1");
  assert.equal((await get()).status, 200);
  const refused = await get();
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("content-type"), "application/problem+json");
  assert.equal(refused.headers.get("retry-after"), "8");
  assert.equal(refused.headers.get("ratelimit"), '"search";r=0;t=8');
  assert.equal(refused.headers.get("x-ratelimit-limit"), "2");
  const body = await refused.json();
  assert.equal(body.type, "https://comptoir.dev/problems/rate-limited");
  assert.equal(body.policy, "search");
  assert.equal(body.retry_after_ms, 8000);
  // Another client is counted on its own.
  const other = await a.request("/api/search", { headers: { "x-test-ip": "198.51.100.2" } });
  assert.equal(other.status, 200);
});

Deno.test("rateLimit() answers 503 when the store is down and the policy fails closed", async () => {
  const clock = new FakeClock();
  const down: RateLimitBackend = {
    kind: "down",
    consume: () => Promise.reject(new RateLimitStoreError("down", "unavailable")),
  };
  const closed = await app(down, clock, { ...policy, failMode: "closed" }).request("/api/search");
  assert.equal(closed.status, 503);
  assert.equal(closed.headers.get("retry-after"), "5");
  assert.equal((await closed.json()).type, "https://comptoir.dev/problems/rate-limit-unavailable");
  const open = await app(down, clock).request("/api/search", {
    headers: { "x-test-ip": "192.0.2.1" },
  });
  assert.equal(open.status, 200);
  assert.equal(open.headers.get("ratelimit-policy"), '"search";q=2;w=10');
  assert.equal(open.headers.get("ratelimit"), null);
});

Deno.test("rateLimit() needs a backend or a limiter", () => {
  assert.throws(() => rateLimit({ policy, identify: () => null }), TypeError);
});
