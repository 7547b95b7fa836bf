/**
 * Per-route rate limits of the `api` function through HTTP against the dev server, on each
 * backend: every policy refuses exactly the request after its limit with 429 problem+json and
 * `Retry-After`, allowed responses carry the rate-limit headers, identities are what the policy
 * says (client address behind a trusted proxy, user, admin), and the startup line says what is in
 * force. Limits are lowered through COMPTOIR_RATE_LIMITS so each check takes a few requests.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import type { DevServer } from "../_support/dev_server.ts";
import {
  type Answer,
  createProduct,
  createUser,
  fixtureDb,
  protectionLine,
  request,
  startServer,
  testRedis,
  uniqueIp,
  upstashEnv,
} from "./support.ts";

const LIMITS = {
  catalog: { limit: 4 },
  inventory: { limit: 3 },
  orders_create: { limit: 3, refill: 1, windowMs: 60_000 },
  orders_read: { limit: 5 },
  dashboard: { limit: 2 },
};

/** Waits for the next window when the current one would end within `marginMs`. */
async function clearOfWindowEdge(marginMs = 5_000, windowMs = 60_000): Promise<void> {
  const into = Date.now() % windowMs;
  if (into > windowMs - marginMs) {
    await new Promise((resolve) => setTimeout(resolve, windowMs - into + 50));
  }
}

/** Asserts the headers of an allowed response of `policy` with `remaining` left. */
function assertAllowed(res: Answer, policy: string, limit: number, window: number, left: number) {
  assert.ok(res.status < 300, `${policy}: status ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.headers.get("ratelimit-policy"), `"${policy}";q=${limit};w=${window}`);
  assert.match(res.headers.get("ratelimit") ?? "", new RegExp(`^"${policy}";r=${left};t=\\d+$`));
  assert.equal(res.headers.get("x-ratelimit-limit"), String(limit));
  assert.equal(res.headers.get("x-ratelimit-remaining"), String(left));
  const reset = Number(res.headers.get("x-ratelimit-reset"));
  const now = Date.now() / 1000;
  assert.ok(reset >= Math.floor(now) && reset <= now + window + 1, `reset ${reset}`);
}

/** Asserts a 429 of `policy`. */
function assertLimited(res: Answer, policy: string, maxWaitSeconds: number) {
  assert.equal(res.status, 429, `${policy}: ${JSON.stringify(res.body)}`);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  assert.equal(res.body.type, "https://comptoir.dev/problems/rate-limited");
  assert.equal(res.body.status, 429);
  assert.equal(res.body.policy, policy);
  const retryAfter = Number(res.headers.get("retry-after"));
  assert.ok(retryAfter >= 1 && retryAfter <= maxWaitSeconds, `retry-after ${retryAfter}`);
  assert.ok(res.body.retry_after_ms > 0 && res.body.retry_after_ms <= maxWaitSeconds * 1000);
  assert.match(res.headers.get("ratelimit") ?? "", new RegExp(`^"${policy}";r=0;t=\\d+$`));
}

async function checkEveryPolicy(
  t: Deno.TestContext,
  server: DevServer,
  sql: postgres.Sql,
  backend: string,
): Promise<void> {
  await t.step(`${backend}: the startup line says what is in force`, () => {
    const line = protectionLine(server);
    const rateLimit = line.rate_limit as Record<string, unknown>;
    assert.equal(rateLimit.backend, backend);
    assert.equal(rateLimit.trusted_proxies, 1);
    assert.deepEqual(rateLimit.overridden, Object.keys(LIMITS));
    const policies = line.policies as Array<Record<string, unknown>>;
    assert.deepEqual(
      policies.map((p) => [p.name, p.limit, p.identity, p.fail]),
      [
        ["catalog", 4, "ip", "open"],
        ["inventory", 3, "ip", "open"],
        ["orders_create", 3, "user", "closed"],
        ["orders_read", 5, "user", "open"],
        ["dashboard", 2, "user", "open"],
      ],
    );
    assert.deepEqual(policies[0].routes, [
      "GET /products",
      "GET /products/:id",
      "GET /categories",
      "GET /categories/:id/products",
    ]);
    assert.equal(line.warnings, undefined);
  });

  await t.step(`${backend}: catalog allows 4 per address across its routes, then 429`, async () => {
    await clearOfWindowEdge();
    const ip = uniqueIp();
    const paths = [
      "api/v1/products?limit=2",
      "api/v1/categories",
      "api/v2/products/1",
      "api/v1/categories",
    ];
    for (const [i, path] of paths.entries()) {
      assertAllowed(await request(server, path, { ip }), "catalog", 4, 60, 3 - i);
    }
    assertLimited(await request(server, "api/v1/products", { ip }), "catalog", 60);
    // Every client address has its own counter; the inventory policy its own too.
    assertAllowed(
      await request(server, "api/v1/categories", { ip: uniqueIp() }),
      "catalog",
      4,
      60,
      3,
    );
    assertAllowed(
      await request(server, "api/v1/inventory?product_ids=1", { ip }),
      "inventory",
      3,
      60,
      2,
    );
  });

  await t.step(`${backend}: inventory allows 3 per address, then 429`, async () => {
    await clearOfWindowEdge();
    const ip = uniqueIp();
    for (const left of [2, 1, 0]) {
      assertAllowed(
        await request(server, "api/v1/inventory?product_ids=1", { ip }),
        "inventory",
        3,
        60,
        left,
      );
    }
    assertLimited(await request(server, "api/v1/inventory?product_ids=1", { ip }), "inventory", 60);
  });

  await t.step(
    `${backend}: orders_create allows a burst of 3 per user, then 429, nothing placed`,
    async () => {
      const product = await createProduct(sql);
      const [alice, bob] = [await createUser(server, sql), await createUser(server, sql)];
      const order = (token: string) =>
        request(server, "api/v1/orders", {
          method: "POST",
          token,
          // Another client address each time: the user is what counts here.
          ip: uniqueIp(),
          body: { items: [{ product_id: product, quantity: 1 }] },
        });
      // A token bucket's `w` is the time an empty bucket takes to refill: 3 tokens x 60 s.
      for (const left of [2, 1, 0]) {
        assertAllowed(
          await order(alice.token),
          "orders_create",
          3,
          180,
          left,
        );
      }
      const refused = await order(alice.token);
      assertLimited(refused, "orders_create", 60);
      assertAllowed(await order(bob.token), "orders_create", 3, 180, 2);
      const [{ n }] =
        await sql`select count(*)::int as n from public.orders where customer_id = ${alice.id}`;
      assert.equal(n, 3);
    },
  );

  await t.step(`${backend}: orders_read allows 5 per user, then 429`, async () => {
    await clearOfWindowEdge();
    const carol = await createUser(server, sql);
    const paths = [
      "api/v1/orders",
      "api/v1/orders/1",
      "api/v2/orders",
      "api/v1/orders",
      "api/v1/orders/2",
    ];
    for (const [i, path] of paths.entries()) {
      const res = await request(server, path, { token: carol.token });
      // Another customer's order is a 404: still counted, still with headers.
      assert.ok(res.status === 200 || res.status === 404, `${path}: ${res.status}`);
      assert.equal(res.headers.get("x-ratelimit-remaining"), String(4 - i));
    }
    assertLimited(
      await request(server, "api/v1/orders", { token: carol.token }),
      "orders_read",
      60,
    );
  });

  await t.step(`${backend}: dashboard allows 2 per admin, then 429`, async () => {
    await clearOfWindowEdge();
    const [admin, other] = [
      await createUser(server, sql, "admin"),
      await createUser(server, sql, "admin"),
    ];
    assertAllowed(
      await request(server, "api/v1/dashboard/sales?days=7", { token: admin.token }),
      "dashboard",
      2,
      60,
      1,
    );
    assertAllowed(
      await request(server, "api/v1/dashboard/top-products?days=7", { token: admin.token }),
      "dashboard",
      2,
      60,
      0,
    );
    assertLimited(
      await request(server, "api/v1/dashboard/sales?days=7", { token: admin.token }),
      "dashboard",
      60,
    );
    assertAllowed(
      await request(server, "api/v1/dashboard/sales?days=7", { token: other.token }),
      "dashboard",
      2,
      60,
      1,
    );
  });
}

Deno.test("api rate limits on the Postgres backend (the default)", async (t) => {
  const sql = fixtureDb();
  const server = await startServer({
    COMPTOIR_TRUSTED_PROXY: "1",
    COMPTOIR_RATE_LIMITS: JSON.stringify(LIMITS),
  });
  try {
    await checkEveryPolicy(t, server, sql, "postgres");
  } finally {
    await server.stop();
    await sql.end();
  }
});

Deno.test("api rate limits on the Upstash backend (real Redis behind the proxy)", async (t) => {
  const sql = fixtureDb();
  const redis = await testRedis();
  let server: DevServer | undefined;
  try {
    server = await startServer({
      ...upstashEnv(redis),
      COMPTOIR_RATE_LIMIT_BACKEND: "upstash",
      COMPTOIR_TRUSTED_PROXY: "1",
      COMPTOIR_RATE_LIMITS: JSON.stringify(LIMITS),
    });
    await checkEveryPolicy(t, server, sql, "upstash");
  } finally {
    await server?.stop();
    await redis.stop();
    await sql.end();
  }
});

Deno.test("reached directly, X-Forwarded-For is ignored and the peer address counts", async () => {
  // A fixed window: a sliding window's weighted previous count may drop between two requests.
  const server = await startServer({
    COMPTOIR_RATE_LIMITS: JSON.stringify({
      catalog: { algorithm: "fixed_window", limit: 100_000, windowMs: 3_600_000 },
    }),
  });
  try {
    const line = protectionLine(server);
    assert.equal(line.level, "info");
    assert.equal((line.rate_limit as Record<string, unknown>).trusted_proxies, 0);
    assert.equal((line.rate_limit as Record<string, unknown>).client_address, "connection peer");
    // A client that invents a new address per request is still one counter: its peer address.
    await clearOfWindowEdge(5_000, 3_600_000);
    const remaining: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(server, "api/v1/categories", { ip: uniqueIp() });
      assert.equal(res.status, 200);
      remaining.push(Number(res.headers.get("x-ratelimit-remaining")));
    }
    assert.deepEqual(remaining.map((r) => remaining[0] - r), [0, 1, 2, 3]);
  } finally {
    await server.stop();
  }
});

Deno.test("COMPTOIR_RATE_LIMIT_BACKEND=off serves without limits or headers and says so", async () => {
  const server = await startServer({
    COMPTOIR_RATE_LIMIT_BACKEND: "off",
    COMPTOIR_RATE_LIMITS: '{"catalog": {"limit": 1}}',
  });
  try {
    const line = protectionLine(server);
    assert.equal((line.rate_limit as Record<string, unknown>).backend, "off");
    assert.deepEqual(line.policies, []);
    assert.equal((line.breaker as Record<string, unknown>).name, "database");
    for (let i = 0; i < 3; i++) {
      const res = await request(server, "api/v1/categories");
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("ratelimit-policy"), null);
      assert.equal(res.headers.get("x-ratelimit-limit"), null);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("a bad rate-limit setting stops the api at start with a clear message", async () => {
  // The gateway imports every function at start: a misconfigured api must not start serving.
  await assert.rejects(
    startServer({ COMPTOIR_RATE_LIMIT_BACKEND: "upstash" }),
    /COMPTOIR_RATE_LIMIT_BACKEND=upstash needs UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN/,
  );
  await assert.rejects(
    startServer({ COMPTOIR_RATE_LIMITS: '{"catalogue": {"limit": 5}}' }),
    /COMPTOIR_RATE_LIMITS names an unknown policy catalogue/,
  );
});
