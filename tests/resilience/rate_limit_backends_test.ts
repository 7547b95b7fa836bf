/**
 * Every algorithm on every backend, with concurrent requests: the Upstash backend against a real
 * redis-server behind the local Upstash proxy (real time: @upstash/ratelimit reads Date.now()),
 * the Postgres backend against the throwaway cluster of TEST_DATABASE_URL and the memory backend
 * (both on a fake clock, so window boundaries are exact).
 */
import assert from "node:assert/strict";
import { FakeClock } from "@shared/clock.ts";
import { AdaptiveLimit } from "@shared/rate_limit/adaptive.ts";
import { RateLimiter } from "@shared/rate_limit/limiter.ts";
import { MemoryRateLimitBackend } from "@shared/rate_limit/memory_backend.ts";
import { PostgresRateLimitBackend } from "@shared/rate_limit/postgres_backend.ts";
import type {
  RateLimitAlgorithm,
  RateLimitBackend,
  RateLimitPolicy,
} from "@shared/rate_limit/types.ts";
import { UpstashRateLimitBackend } from "@shared/rate_limit/upstash_backend.ts";
import {
  alignTo,
  countAllowed,
  testDatabase,
  testRedis,
  uniqueName,
  upstashClient,
} from "./support.ts";

const LIMIT = 10;
const PARALLEL = 3 * LIMIT;
const ALGORITHMS: RateLimitAlgorithm[] = ["sliding_window", "fixed_window", "token_bucket"];

function policy(algorithm: RateLimitAlgorithm, windowMs: number, refill?: number): RateLimitPolicy {
  return {
    name: uniqueName(algorithm),
    algorithm,
    limit: LIMIT,
    windowMs,
    refill: algorithm === "token_bucket" ? refill ?? 1 : undefined,
    identity: "user",
    failMode: "closed",
  };
}

function burst(limiter: RateLimiter, p: RateLimitPolicy, identity: string, count = PARALLEL) {
  return countAllowed(count, async () => (await limiter.check(p, identity)).allowed);
}

/** The checks that need exact control of time, for the backends that take a clock. */
function fakeClockSteps(name: string, makeBackend: (clock: FakeClock) => RateLimitBackend) {
  return async (t: Deno.TestContext) => {
    for (const algorithm of ALGORITHMS) {
      await t.step(
        `${name} ${algorithm}: ${PARALLEL} parallel requests of one user allow exactly ${LIMIT}`,
        async () => {
          const clock = new FakeClock(Date.UTC(2026, 0, 1));
          const limiter = new RateLimiter({ backend: makeBackend(clock), clock });
          assert.equal(await burst(limiter, policy(algorithm, 60_000), "alice"), LIMIT);
        },
      );

      await t.step(`${name} ${algorithm}: independent users do not interfere`, async () => {
        const clock = new FakeClock(Date.UTC(2026, 0, 1));
        const limiter = new RateLimiter({ backend: makeBackend(clock), clock });
        const p = policy(algorithm, 60_000);
        const users = ["u1", "u2", "u3", "u4", "u5"];
        const counts = await Promise.all(users.map((u) => burst(limiter, p, u, LIMIT + 5)));
        assert.deepEqual(counts, users.map(() => LIMIT));
      });
    }

    await t.step(
      `${name} fixed_window: the limit applies again right at the boundary`,
      async () => {
        const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
        const limiter = new RateLimiter({ backend: makeBackend(clock), clock });
        const p = policy("fixed_window", 1000);
        assert.equal(await burst(limiter, p, "bob"), LIMIT);
        await clock.advance(999);
        assert.equal(await burst(limiter, p, "bob"), 0);
        await clock.advance(1);
        assert.equal(await burst(limiter, p, "bob"), LIMIT);
      },
    );

    await t.step(
      `${name} sliding_window: the previous window still counts after the boundary`,
      async () => {
        const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
        const limiter = new RateLimiter({ backend: makeBackend(clock), clock });
        const p = policy("sliding_window", 1000);
        assert.equal(await burst(limiter, p, "carol"), LIMIT);
        await clock.advance(1000);
        assert.equal(await burst(limiter, p, "carol"), 0);
        await clock.advance(500);
        // Half of the previous window overlaps: 5 of 10 used.
        assert.equal(await burst(limiter, p, "carol"), LIMIT / 2);
      },
    );

    await t.step(`${name} token_bucket: tokens refill per interval on the fake clock`, async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
      const limiter = new RateLimiter({ backend: makeBackend(clock), clock });
      const p = policy("token_bucket", 1000, 3);
      assert.equal(await burst(limiter, p, "dave"), LIMIT);
      await clock.advance(999);
      assert.equal(await burst(limiter, p, "dave"), 0);
      await clock.advance(1);
      assert.equal(await burst(limiter, p, "dave"), 3);
      await clock.advance(60_000);
      assert.equal(await burst(limiter, p, "dave"), LIMIT);
    });

    await t.step(`${name}: the adaptive factor shrinks the limit and lets it recover`, async () => {
      const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
      const adaptive = new AdaptiveLimit({
        clock,
        recoveryIntervalMs: 1000,
        recoveryStep: 0.5,
        log: () => {},
      });
      const limiter = new RateLimiter({ backend: makeBackend(clock), clock, adaptive });
      const p = policy("fixed_window", 60_000);
      adaptive.observe({ errorRate: 0.5 });
      assert.equal(adaptive.factor, 0.5);
      assert.equal(await burst(limiter, p, "erin"), LIMIT / 2);
      adaptive.observe({ errorRate: 0 });
      await clock.advance(1000);
      adaptive.observe({ errorRate: 0 });
      assert.equal(adaptive.factor, 1);
      // Same window: the 5 already counted stay counted, the restored limit allows 5 more.
      assert.equal(await burst(limiter, p, "erin"), LIMIT / 2);
    });
  };
}

Deno.test(
  "memory backend enforces every algorithm exactly",
  fakeClockSteps("memory", (clock) => {
    return new MemoryRateLimitBackend({ clock });
  }),
);

Deno.test("postgres backend enforces every algorithm exactly", async (t) => {
  const sql = await testDatabase();
  try {
    await fakeClockSteps("postgres", (clock) => new PostgresRateLimitBackend({ sql, clock }))(t);

    await t.step("postgres: without a clock the database time is used", async () => {
      const limiter = new RateLimiter({ backend: new PostgresRateLimitBackend({ sql }) });
      const decision = await limiter.check(policy("fixed_window", 60_000), "frank");
      assert.equal(decision.allowed, true);
      assert.ok(Math.abs(decision.resetAt! - Date.now()) <= 61_000);
    });
  } finally {
    await sql.end();
  }
});

Deno.test("upstash backend enforces every algorithm exactly through the local proxy", async (t) => {
  const local = await testRedis();
  try {
    const backend = new UpstashRateLimitBackend({ redis: upstashClient(local), timeoutMs: 2000 });
    const limiter = new RateLimiter({ backend });

    for (const algorithm of ALGORITHMS) {
      await t.step(
        `upstash ${algorithm}: ${PARALLEL} parallel requests of one user allow exactly ${LIMIT}`,
        async () => {
          assert.equal(await burst(limiter, policy(algorithm, 60_000), "alice"), LIMIT);
        },
      );
      await t.step(`upstash ${algorithm}: independent users do not interfere`, async () => {
        const p = policy(algorithm, 60_000);
        const users = ["u1", "u2", "u3", "u4", "u5"];
        const counts = await Promise.all(users.map((u) => burst(limiter, p, u, LIMIT + 5)));
        assert.deepEqual(counts, users.map(() => LIMIT));
      });
    }

    await t.step("upstash fixed_window: the limit applies again at the next window", async () => {
      const p = policy("fixed_window", 1000);
      await alignTo(1000, 50);
      assert.equal(await burst(limiter, p, "bob"), LIMIT);
      await alignTo(1000, 50);
      assert.equal(await burst(limiter, p, "bob"), LIMIT);
    });

    await t.step(
      "upstash sliding_window: the previous window still counts after the boundary",
      async () => {
        const p = policy("sliding_window", 2000);
        await alignTo(2000, 20);
        assert.equal(await burst(limiter, p, "carol"), LIMIT);
        await alignTo(2000, 20);
        // ~99% of the previous window overlaps: at most one request fits (a fixed window allows 10).
        assert.ok((await burst(limiter, p, "carol")) <= 1);
        await alignTo(2000, 1000);
        const allowed = await burst(limiter, p, "carol");
        assert.ok(allowed >= 4 && allowed <= 6, `allowed ${allowed} at half the window`);
      },
    );

    await t.step("upstash token_bucket: tokens refill per interval", async () => {
      const p = policy("token_bucket", 1000, 3);
      const first = await limiter.check(p, "dave");
      assert.equal(await burst(limiter, p, "dave"), LIMIT - 1);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, first.resetAt! - Date.now()) + 30)
      );
      assert.equal(await burst(limiter, p, "dave"), 3);
    });
  } finally {
    await local.stop();
  }
});
