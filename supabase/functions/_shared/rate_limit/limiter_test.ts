import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { AdaptiveLimit } from "./adaptive.ts";
import { type RateLimitDecision, RateLimiter } from "./limiter.ts";
import { MemoryRateLimitBackend } from "./memory_backend.ts";
import { type RateLimitBackend, type RateLimitPolicy, RateLimitStoreError } from "./types.ts";

const policy: RateLimitPolicy = {
  name: "p",
  algorithm: "fixed_window",
  limit: 10,
  windowMs: 60_000,
  identity: "user",
  failMode: "open",
};

const down: RateLimitBackend = {
  kind: "down",
  consume: () => Promise.reject(new RateLimitStoreError("down", "unavailable")),
};

Deno.test("RateLimiter publishes every decision and counts outcomes", async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ backend: new MemoryRateLimitBackend({ clock }), clock });
  const seen: RateLimitDecision[] = [];
  limiter.subscribe((d) => seen.push(d));
  for (let i = 0; i < 12; i++) await limiter.check(policy, "u1");
  assert.deepEqual(limiter.counters, { allowed: 10, limited: 2, fail_open: 0, fail_closed: 0 });
  assert.equal(seen.length, 12);
  assert.equal(seen[11].outcome, "limited");
  assert.equal(seen[11].retryAfterMs, 60_000);
  assert.equal(seen[11].policy, "p");
});

Deno.test("RateLimiter fails open by default and closed when the policy says so", async () => {
  const logs: Record<string, unknown>[] = [];
  const clock = new FakeClock();
  const limiter = new RateLimiter({ backend: down, clock, log: (r) => logs.push(r) });
  const open = await limiter.check(policy, "u1");
  assert.equal(open.outcome, "fail_open");
  assert.equal(open.allowed, true);
  const closed = await limiter.check({ ...policy, failMode: "closed" }, "u1");
  assert.equal(closed.outcome, "fail_closed");
  assert.equal(closed.allowed, false);
  assert.equal(closed.retryAfterMs, 5000);
  assert.deepEqual(limiter.counters, { allowed: 0, limited: 0, fail_open: 1, fail_closed: 1 });
  // One log line per interval, not one per request.
  assert.equal(logs.length, 1);
  await clock.advance(10_000);
  await limiter.check(policy, "u1");
  assert.equal(logs.length, 2);
  assert.equal(logs[1].suppressed_since_last, 1);
});

Deno.test("RateLimiter applies the adaptive factor to adaptive policies only", async () => {
  const clock = new FakeClock();
  const adaptive = new AdaptiveLimit({ clock, log: () => {} });
  const limiter = new RateLimiter({
    backend: new MemoryRateLimitBackend({ clock }),
    adaptive,
    clock,
  });
  adaptive.observe({ errorRate: 0.5 });
  assert.equal(limiter.rule(policy).limit, 5);
  assert.equal(limiter.rule({ ...policy, adaptive: false }).limit, 10);
  const bucket = limiter.rule({ ...policy, algorithm: "token_bucket", refill: 4 });
  assert.deepEqual([bucket.limit, bucket.refill], [5, 2]);
  let allowed = 0;
  for (let i = 0; i < 10; i++) if ((await limiter.check(policy, "u2")).allowed) allowed++;
  assert.equal(allowed, 5);
});

Deno.test("RateLimiter lets unexpected backend bugs surface", async () => {
  const buggy: RateLimitBackend = {
    kind: "buggy",
    consume: () => Promise.reject(new TypeError("bug")),
  };
  await assert.rejects(new RateLimiter({ backend: buggy }).check(policy, "u"), TypeError);
});

Deno.test("RateLimiter counts unknown identities in a small bucket of their own", async () => {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ backend: new MemoryRateLimitBackend({ clock }), clock });
  const big = { ...policy, limit: 100 };
  const unknown = [];
  for (let i = 0; i < 6; i++) unknown.push(await limiter.check(big, i % 2 ? null : ""));
  // 5 % of the limit for every unknown request together, then refused.
  assert.deepEqual(unknown.map((d) => d.allowed), [true, true, true, true, true, false]);
  assert.equal(unknown[0].rule.limit, 5);
  // Known identities keep the full limit and are untouched by the unknown bucket.
  const known = await limiter.check(big, "u1");
  assert.equal(known.allowed, true);
  assert.equal(known.remaining, 99);
  // A tiny policy still lets one unknown request through.
  assert.equal((await limiter.check({ ...policy, name: "tiny", limit: 3 }, null)).allowed, true);
  assert.equal((await limiter.check({ ...policy, name: "tiny", limit: 3 }, null)).allowed, false);
});
