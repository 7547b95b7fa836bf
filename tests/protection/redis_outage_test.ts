/**
 * redis-server stops in the middle of traffic on the Upstash backend: fail-open policies keep
 * serving (without counting), the fail-closed one answers 503 with `Retry-After`, database calls
 * go on although the breaker's shared store is gone, and counting resumes once Redis is back.
 */
import assert from "node:assert/strict";
import type { DevServer } from "../_support/dev_server.ts";
import {
  createProduct,
  createUser,
  fixtureDb,
  logLines,
  request,
  startServer,
  testRedis,
  uniqueIp,
  upstashEnv,
  waitFor,
} from "./support.ts";

Deno.test("a Redis outage: fail-open routes serve, order creation answers 503, then recovery", async () => {
  const sql = fixtureDb();
  const redis = await testRedis();
  let server: DevServer | undefined;
  try {
    server = await startServer({
      ...upstashEnv(redis),
      COMPTOIR_RATE_LIMIT_BACKEND: "upstash",
      COMPTOIR_TRUSTED_PROXY: "1",
      COMPTOIR_RATE_LIMITS: JSON.stringify({
        catalog: { algorithm: "fixed_window", limit: 3, windowMs: 3_600_000 },
        orders_create: { limit: 3, refill: 1, windowMs: 3_600_000 },
      }),
    });
    const srv = server;
    const product = await createProduct(sql);
    const shopper = await createUser(srv, sql);
    const ip = uniqueIp();
    const browse = () => request(srv, "api/v1/categories", { ip });
    const order = () =>
      request(srv, "api/v1/orders", {
        method: "POST",
        token: shopper.token,
        body: { items: [{ product_id: product, quantity: 1 }] },
      });
    const ordersPlaced = async () =>
      (await sql`select count(*)::int as n from public.orders where customer_id = ${shopper.id}`)[0]
        .n;

    const before = await browse();
    assert.equal(before.status, 200);
    assert.equal(before.headers.get("x-ratelimit-remaining"), "2");
    assert.equal((await order()).status, 201);

    await redis.stopRedis();
    // Past the breakers' 1 s cache, so the database breaker reads its (gone) store again.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    // Browsing goes on past its limit: nothing is counted, so only the policy is announced.
    for (let i = 0; i < 5; i++) {
      const res = await browse();
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.headers.get("ratelimit-policy"), '"catalog";q=3;w=3600');
      assert.equal(res.headers.get("ratelimit"), null);
      assert.equal(res.headers.get("x-ratelimit-remaining"), null);
      assert.ok(res.ms < 1500, `answered in ${res.ms} ms`);
    }
    // Order creation fails closed and places nothing.
    for (let i = 0; i < 2; i++) {
      const res = await order();
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.equal(res.body.type, "https://comptoir.dev/problems/rate-limit-unavailable");
      assert.equal(res.body.policy, "orders_create");
      assert.equal(res.headers.get("retry-after"), "5");
      assert.equal(res.body.retry_after_ms, 5000);
    }
    assert.equal(await ordersPlaced(), 1);
    const [storeDown] = logLines(srv, "rate limit store unavailable");
    assert.equal(storeDown.backend, "upstash");
    assert.ok(logLines(srv, "circuit breaker store unavailable; using local state").length >= 1);

    await redis.startRedis();
    // The new redis-server is empty: counting starts over and the limits hold again.
    await waitFor("counting to resume", async () => {
      const res = await browse();
      return res.headers.get("x-ratelimit-remaining") === null ? undefined : res;
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await browse()).status);
    assert.deepEqual(statuses, [200, 200, 429]);
    const orders = [];
    for (let i = 0; i < 4; i++) orders.push((await order()).status);
    assert.deepEqual(orders, [201, 201, 201, 429]);
    assert.equal(await ordersPlaced(), 4);
  } finally {
    await server?.stop();
    await redis.stop();
    await sql.end();
  }
});
