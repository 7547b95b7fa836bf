/**
 * Redis outages under real traffic: redis-server is stopped (and frozen) behind the Upstash proxy
 * while requests flow through the rate-limit middleware.
 */
import assert from "node:assert/strict";
import { createFunctionApp } from "@shared/http/create_app.ts";
import { RateLimiter } from "@shared/rate_limit/limiter.ts";
import { rateLimit } from "@shared/rate_limit/middleware.ts";
import { PostgresRateLimitBackend } from "@shared/rate_limit/postgres_backend.ts";
import type { RateLimitPolicy } from "@shared/rate_limit/types.ts";
import { UpstashRateLimitBackend } from "@shared/rate_limit/upstash_backend.ts";
import postgres from "postgres";
import { testRedis, uniqueName, upstashClient } from "./support.ts";
import { waitFor } from "../_support/wait.ts";

function policies(): { open: RateLimitPolicy; closed: RateLimitPolicy } {
  const base = { algorithm: "fixed_window", limit: 3, windowMs: 60_000, identity: "ip" } as const;
  return {
    open: { ...base, name: uniqueName("browse"), failMode: "open" },
    closed: { ...base, name: uniqueName("checkout"), failMode: "closed" },
  };
}

function shop(limiter: RateLimiter, p: { open: RateLimitPolicy; closed: RateLimitPolicy }) {
  const app = createFunctionApp("api");
  const identify = () => "203.0.113.9";
  app.get("/products", rateLimit({ policy: p.open, limiter, identify }), (c) => c.json({ ok: 1 }));
  app.get(
    "/checkout",
    rateLimit({ policy: p.closed, limiter, identify }),
    (c) => c.json({ ok: 1 }),
  );
  return app;
}

async function statuses(app: ReturnType<typeof shop>, path: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await app.request(path);
    await res.body?.cancel();
    out.push(res.status);
  }
  return out;
}

Deno.test("rate limiting survives redis-server stopping and recovers when it returns", async () => {
  const local = await testRedis();
  const logs: Record<string, unknown>[] = [];
  try {
    const backend = new UpstashRateLimitBackend({ redis: upstashClient(local), timeoutMs: 500 });
    const limiter = new RateLimiter({ backend, log: (r) => logs.push(r), logIntervalMs: 0 });
    const p = policies();
    const app = shop(limiter, p);

    assert.deepEqual(await statuses(app, "/api/products", 2), [200, 200]);

    await local.stopRedis();
    assert.deepEqual(await statuses(app, "/api/products", 3), [200, 200, 200]);
    assert.deepEqual(await statuses(app, "/api/checkout", 2), [503, 503]);
    assert.equal(limiter.counters.fail_open, 3);
    assert.equal(limiter.counters.fail_closed, 2);
    assert.equal(logs.length, 5);
    assert.equal(logs[0].msg, "rate limit store unavailable");
    assert.equal(logs[0].outcome, "fail_open");

    await local.startRedis();
    // The new redis-server is empty: counting starts again and the limit holds again.
    assert.deepEqual(await statuses(app, "/api/checkout", 4), [200, 200, 200, 429]);
    assert.deepEqual(await statuses(app, "/api/products", 4), [200, 200, 200, 429]);
    assert.equal(limiter.counters.fail_open, 3);
  } finally {
    await local.stop();
  }
});

Deno.test("a hung Redis hits the @upstash/ratelimit timeout and the policy's fail mode decides", async () => {
  const local = await testRedis();
  try {
    const backend = new UpstashRateLimitBackend({ redis: upstashClient(local), timeoutMs: 200 });
    const limiter = new RateLimiter({ backend, log: () => {} });
    const p = policies();
    const app = shop(limiter, p);
    assert.deepEqual(await statuses(app, "/api/checkout", 1), [200]);

    local.pauseRedis();
    const started = performance.now();
    const [open, closed] = await Promise.all([
      app.request("/api/products"),
      app.request("/api/checkout"),
    ]);
    const elapsed = performance.now() - started;
    assert.equal(open.status, 200);
    assert.equal(closed.status, 503);
    assert.ok(elapsed < 1500, `answered after ${elapsed} ms`);
    const decisions = limiter.counters;
    assert.equal(decisions.fail_open, 1);
    assert.equal(decisions.fail_closed, 1);
    await Promise.all([open.body?.cancel(), closed.body?.cancel()]);

    local.resumeRedis();
    // Wait for the requests that were stuck in the frozen server to reach it before the next
    // check: the refused checkout was still counted once Redis thawed (2 of 3 used).
    const redis = upstashClient(local);
    const used = async (policy: RateLimitPolicy) => {
      const keys = await redis.keys(`comptoir:rl:${policy.name}:*`);
      const counts = await Promise.all(keys.map((key) => redis.get<number>(key)));
      return counts.reduce<number>((sum, n) => sum + Number(n ?? 0), 0);
    };
    await waitFor(
      "the requests held by the frozen Redis to be counted",
      async () => (await used(p.closed)) === 2 && (await used(p.open)) === 1 ? true : undefined,
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    assert.deepEqual(await statuses(app, "/api/checkout", 3), [200, 429, 429]);
  } finally {
    local.resumeRedis();
    await local.stop();
  }
});

Deno.test("an unreachable Postgres fails open or closed per policy", async () => {
  const sql = postgres("postgres://postgres:postgres@127.0.0.1:1/none", {
    max: 1,
    connect_timeout: 1,
    onnotice: () => {},
  });
  try {
    const limiter = new RateLimiter({
      backend: new PostgresRateLimitBackend({ sql, timeoutMs: 500 }),
      log: () => {},
    });
    const app = shop(limiter, policies());
    assert.deepEqual(await statuses(app, "/api/products", 2), [200, 200]);
    assert.deepEqual(await statuses(app, "/api/checkout", 2), [503, 503]);
  } finally {
    await sql.end({ timeout: 0 });
  }
});
