/**
 * Rate limits run before the work they protect, through the gateway and the api: requests that
 * fail validation are counted like any other, per address and per user, so bad input is no way
 * around a limit (nor a free way to load the function).
 */
import assert from "node:assert/strict";
import { createUser, fixtureDb, request, startServer, uniqueIp } from "./support.ts";

Deno.test("bad input is rate limited and counted, per address and per user", async () => {
  const sql = fixtureDb();
  const server = await startServer({
    COMPTOIR_TRUSTED_PROXY: "1",
    COMPTOIR_RATE_LIMITS: JSON.stringify({
      catalog: { algorithm: "fixed_window", limit: 3, windowMs: 3_600_000 },
      orders_read: { algorithm: "fixed_window", limit: 2, windowMs: 3_600_000 },
    }),
  });
  try {
    const ip = uniqueIp();
    const catalog: number[] = [];
    for (let i = 0; i < 4; i++) {
      catalog.push((await request(server, "api/v1/products?limit=abc", { ip })).status);
    }
    assert.deepEqual(catalog, [400, 400, 400, 429]);
    // The address's counter is used up for good requests too.
    assert.equal((await request(server, "api/v1/categories", { ip })).status, 429);

    const user = await createUser(server, sql);
    const orders: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(server, "api/v2/orders?cursor=%%%", {
        ip: uniqueIp(),
        token: user.token,
      });
      orders.push(res.status);
    }
    assert.deepEqual(orders, [400, 400, 429]);
  } finally {
    await server.stop();
    await sql.end();
  }
});
