import assert from "node:assert/strict";
import postgres from "postgres";
import { startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import { MONITORED_ENV, scrape, valueOf, waitFor } from "./_support.ts";

Deno.test("checkouts, orders and auth failures reach the metrics endpoint", async () => {
  const url = testDatabaseUrl();
  const server = await startDevServer({ dbUrl: url, env: MONITORED_ENV });
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const userId = crypto.randomUUID();
    await sql`insert into auth.users (id, aud, role, email)
              values (${userId}, 'authenticated', 'authenticated', ${`metrics.${userId}@example.com`})`;
    const [product] = await sql`
      insert into public.products (sku, name, price_cents, currency)
      values (${`MET-${Date.now()}`}, 'Metrics probe', 2500, 'EUR') returning id`;
    await sql`insert into public.inventory (product_id, on_hand) values (${product.id}, 1)`;
    const token = await server.tokenFor({ id: userId });
    const order = (quantity: number) =>
      fetch(`${server.url}/functions/v1/api/v1/orders`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ items: [{ product_id: Number(product.id), quantity }] }),
      }).then(async (res) => (await res.body?.cancel(), res.status));

    const before = await scrape(server.url);
    assert.equal(await order(1), 201);
    assert.equal(await order(1), 409);
    // Bad tokens stop at the gateway (verify_jwt); the function counts authorization refusals.
    const forbidden = await fetch(`${server.url}/functions/v1/api/v1/dashboard/sales`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await forbidden.body?.cancel();
    assert.equal(forbidden.status, 403);

    const delta = (after: Awaited<ReturnType<typeof scrape>>, name: string, labels = {}) =>
      valueOf(after, name, labels) - valueOf(before, name, labels);
    await waitFor("business and auth counters", async () => {
      const after = await scrape(server.url);
      const ok = delta(after, "comptoir_orders_created_total") >= 1 &&
        delta(after, "comptoir_checkout_attempts_total") >= 2 &&
        delta(after, "comptoir_checkout_failures_total", { reason: "out_of_stock" }) >= 1 &&
        delta(after, "comptoir_auth_failures_total", {
            method: "jwt",
            reason: "insufficient_role",
          }) >= 1;
      return ok ? true : undefined;
    });
  } finally {
    await sql.end();
    await server.stop();
  }
});
