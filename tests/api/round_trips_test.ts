/**
 * Database round trips per API route, counted on the wire (scripts/lib/round_trip_proxy.ts) with
 * rate limiting on (the default Postgres backend) and metrics on: at most 2 for an anonymous read
 * and 3 for a user-scoped call, the rate-limit check included.
 * @module
 */
import assert from "node:assert/strict";
import { roundTripsOf, startRoundTripProxy } from "../../scripts/lib/round_trip_proxy.ts";
import { createCategory, createProduct } from "./_fixtures.ts";
import { startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import postgres from "postgres";

Deno.test("every api route costs at most 2 round trips anonymous, 3 user-scoped", async () => {
  const url = new URL(testDatabaseUrl());
  const proxy = await startRoundTripProxy({ upstreamPort: Number(url.port) });
  const proxied = new URL(url);
  proxied.port = String(proxy.port);
  const sql = postgres(url.href, { max: 1, onnotice: () => {} });
  const server = await startDevServer({
    dbUrl: proxied.href,
    // One connection: nothing else on the pool (a second connection's handshake) is counted.
    // Orders ask the notifications function to deliver at once: that call is another request, with
    // its own round trips on the same pool, so here the schedule alone delivers.
    env: {
      COMPTOIR_DB_POOL_MAX: "1",
      COMPTOIR_RATE_LIMIT_BACKEND: "postgres",
      COMPTOIR_NOTIFY_DELIVER_ON_ENQUEUE: "off",
    },
  });
  try {
    const tag = `rt${Date.now().toString(36)}`;
    const category = await createCategory(sql, `${tag}-cat`);
    const product = await createProduct(sql, {
      sku: `${tag.toUpperCase()}-SKU`,
      name: `${tag} lamp`,
      price_cents: 1200,
      category_id: category,
      on_hand: 1000,
    });
    const userId = crypto.randomUUID();
    await sql`insert into auth.users (id, aud, role, email)
              values (${userId}, 'authenticated', 'authenticated', ${`${tag}@example.com`})`;
    const user = await server.tokenFor({ id: userId, email: `${tag}@example.com` });
    const adminId = crypto.randomUUID();
    await sql`insert into auth.users (id, aud, role, email, raw_app_meta_data)
              values (${adminId}, 'authenticated', 'authenticated', ${`${tag}-a@example.com`},
                      ${sql.json({ role: "admin" })})`;
    const admin = await server.tokenFor({ id: adminId, appRole: "admin" });
    const base = `${server.url}/functions/v1/api/v2`;
    const get = (path: string, token = server.anonKey) => async () => {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await res.body?.cancel();
      assert.equal(res.status, 200, `${path}: ${res.status}`);
    };
    const order = await (await fetch(`${base}/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${user}`, "content-type": "application/json" },
      body: JSON.stringify({ items: [{ product_id: product.id, quantity: 1 }] }),
    })).json();
    let n = 0;
    const place = async () => {
      const res = await fetch(`${base}/orders`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${user}`,
          "content-type": "application/json",
          "idempotency-key": `${tag}-${n++}`,
        },
        body: JSON.stringify({ items: [{ product_id: product.id, quantity: 1 }] }),
      });
      await res.body?.cancel();
      assert.equal(res.status, 201);
    };

    const anonymous: Record<string, () => Promise<void>> = {
      "GET /products": get(`/products?q=${tag}&limit=5`),
      "GET /products/:id": get(`/products/${product.id}`),
      "GET /categories": get("/categories"),
      "GET /categories/:id/products": get(`/categories/${category}/products?limit=5`),
      "GET /inventory": get(`/inventory?product_ids=${product.id}`),
    };
    const userScoped: Record<string, () => Promise<void>> = {
      "GET /orders": get("/orders?limit=5", user),
      "GET /orders/:id": get(`/orders/${order.id}`, user),
      "POST /orders": place,
      "GET /dashboard/sales": get("/dashboard/sales?days=30", admin),
      "GET /dashboard/top-products": get("/dashboard/top-products?days=30", admin),
    };
    const counted: Record<string, number> = {};
    for (const [route, call] of Object.entries(anonymous)) {
      counted[route] = await roundTripsOf(proxy, call);
    }
    for (const [route, call] of Object.entries(userScoped)) {
      counted[route] = await roundTripsOf(proxy, call);
    }
    for (const route of Object.keys(anonymous)) {
      assert.ok(
        counted[route] <= 2,
        `${route}: ${counted[route]} round trips (${JSON.stringify(counted)})`,
      );
      // The rate-limit check is one of them: the counter is really consulted.
      assert.ok(
        counted[route] >= 2,
        `${route}: ${counted[route]} round trips, limiter not counted?`,
      );
    }
    for (const route of Object.keys(userScoped)) {
      assert.ok(
        counted[route] <= 3,
        `${route}: ${counted[route]} round trips (${JSON.stringify(counted)})`,
      );
    }
  } finally {
    await server.stop();
    await sql.end();
    await proxy.close();
  }
});
