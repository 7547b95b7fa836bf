/**
 * Upstash commands are retried once on a transient failure: a real redis-server behind the local
 * Upstash proxy, with an HTTP hop in front of it that answers the first request with 503.
 */
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { metricsPipeline } from "@shared/metrics/pipeline.ts";
import { UpstashRateLimitBackend } from "@shared/rate_limit/upstash_backend.ts";
import { UpstashBreakerStore } from "@shared/resilience/breaker_store_upstash.ts";
import { RateLimitStoreError } from "@shared/rate_limit/types.ts";
import { testRedis, uniqueName } from "./support.ts";

/**
 * An HTTP hop to `target` that answers the next `count` requests with `status` and an Upstash-style
 * `{ "error": message }` body instead of forwarding them.
 */
function flakyHop(target: string) {
  let failures = 0;
  let answer = { status: 503, error: "Service Unavailable" };
  let seen = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    seen++;
    const body = await req.text();
    if (failures > 0) {
      failures--;
      return Response.json({ error: answer.error }, { status: answer.status });
    }
    return await fetch(target + new URL(req.url).pathname, {
      method: req.method,
      headers: req.headers,
      body,
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    fail(count: number, status = 503, error = "Service Unavailable") {
      failures = count;
      answer = { status, error };
      seen = 0;
    },
    get seen() {
      return seen;
    },
    stop: () => server.shutdown(),
  };
}

function redisRetries(outcome: string): number {
  const key = `dependency="redis",outcome="${outcome}"`;
  return metricsPipeline().registry.drain()
    .filter((s) => s.name === "comptoir_retries_total" && s.labels === key)
    .reduce((sum, s) => sum + s.value, 0);
}

Deno.test("Upstash commands are retried once when the REST endpoint answers 503", async (t) => {
  const local = await testRedis();
  const hop = flakyHop(local.url);
  const redis = new Redis({
    url: hop.url,
    token: local.token,
    enableTelemetry: false,
    retry: false,
  });
  try {
    await t.step("rate limit check", async () => {
      redisRetries("recovered");
      const backend = new UpstashRateLimitBackend({ redis, ephemeralCache: false });
      const rule = {
        name: uniqueName("retry"),
        algorithm: "fixed_window" as const,
        limit: 5,
        windowMs: 60_000,
        refill: 5,
      };
      hop.fail(1);
      const result = await backend.consume(rule, "client-1");
      assert.equal(result.allowed, true);
      assert.equal(result.remaining, 4, "the request was counted once");
      assert.ok(hop.seen >= 2, `the hop saw ${hop.seen} requests`);
      assert.equal(redisRetries("recovered"), 1);
    });

    await t.step("breaker store read and compare-and-set", async () => {
      const store = new UpstashBreakerStore(redis, { prefix: `${uniqueName("breaker")}:` });
      hop.fail(1);
      assert.equal(await store.load("payments"), null);
      const state = { version: 1, status: "open" } as never;
      hop.fail(1);
      assert.equal(await store.compareAndSet("payments", 0, state), true);
      assert.deepEqual(await store.load("payments"), state);
      assert.equal(redisRetries("recovered"), 2);
    });

    await t.step("a Redis error reply is not retried", async () => {
      const backend = new UpstashRateLimitBackend({ redis, ephemeralCache: false });
      // A Redis error reply: nothing a retry would change.
      hop.fail(1, 400, "ERR unknown command");
      await assert.rejects(
        backend.consume({
          name: uniqueName("noretry"),
          algorithm: "fixed_window",
          limit: 5,
          windowMs: 60_000,
          refill: 5,
        }, "client-2"),
        RateLimitStoreError,
      );
      assert.equal(hop.seen, 1);
      assert.equal(redisRetries("failed"), 0);
    });
  } finally {
    await hop.stop();
    await local.stop();
  }
});
