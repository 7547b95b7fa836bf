import assert from "node:assert/strict";
import { call, createCategory, createProduct, setUp } from "./_fixtures.ts";

Deno.test("api orders: placement, idempotency, ownership, concurrency and the dashboard", async (t) => {
  const ctx = await setUp();
  const { sql, anon, alice, bob, admin, service, tag } = ctx;
  try {
    const upper = tag.toUpperCase();
    const cat = await createCategory(sql, `${tag}-orders`);
    const mug = await createProduct(sql, {
      sku: `${upper}-MUG`,
      name: "Mug",
      price_cents: 1250,
      category_id: cat,
      on_hand: 100,
    });
    const pot = await createProduct(sql, {
      sku: `${upper}-POT`,
      name: "Teapot",
      price_cents: 3900,
      category_id: cat,
      on_hand: 100,
    });

    let aliceOrder = 0;
    await t.step("a customer places an order priced and totalled by the server", async () => {
      const res = await call(alice.client, "api/v1/orders", {
        method: "POST",
        body: { items: [{ product_id: mug.id, quantity: 2 }, { sku: pot.sku, quantity: 1 }] },
      });
      assert.equal(res.status, 201);
      aliceOrder = res.body.id;
      assert.equal(res.headers.get("location"), `/functions/v1/api/v1/orders/${aliceOrder}`);
      assert.equal(res.body.status, "pending");
      assert.equal(res.body.subtotal_cents, 2 * 1250 + 3900);
      assert.equal(res.body.shipping_cents, 0);
      assert.equal(res.body.total_cents, 6400);
      assert.equal(res.body.item_count, 3);
      assert.deepEqual(
        res.body.items.map((i: { sku: string; quantity: number; line_total_cents: number }) => [
          i.sku,
          i.quantity,
          i.line_total_cents,
        ]),
        [[mug.sku, 2, 2500], [pot.sku, 1, 3900]],
      );
      const [stock] = await sql`select reserved from public.inventory where product_id = ${mug.id}`;
      assert.equal(stock.reserved, 2);
    });

    await t.step("a small order pays the flat shipping fee; v2 gives money objects", async () => {
      const res = await call(alice.client, "api/v2/orders", {
        method: "POST",
        body: { items: [{ product_id: mug.id, quantity: 1 }] },
      });
      assert.equal(res.status, 201);
      assert.deepEqual(res.body.shipping, { amount: 490, currency: "EUR" });
      assert.deepEqual(res.body.total, { amount: 1740, currency: "EUR" });
      assert.deepEqual(res.body.items[0].unit_price, { amount: 1250, currency: "EUR" });
    });

    await t.step("an Idempotency-Key replays the same order; another body is a 422", async () => {
      const key = `key-${tag}`;
      const body = { items: [{ product_id: pot.id, quantity: 1 }] };
      const first = await call(bob.client, "api/v1/orders", {
        method: "POST",
        body,
        headers: { "idempotency-key": key },
      });
      assert.equal(first.status, 201);
      const again = await call(bob.client, "api/v1/orders", {
        method: "POST",
        body,
        headers: { "idempotency-key": key },
      });
      assert.equal(again.status, 200);
      assert.equal(again.headers.get("idempotent-replayed"), "true");
      assert.equal(again.body.id, first.body.id);
      const [{ n }] =
        await sql`select count(*)::int as n from public.orders where customer_id = ${bob.id}`;
      assert.equal(n, 1);
      const other = await call(bob.client, "api/v1/orders", {
        method: "POST",
        body: { items: [{ product_id: pot.id, quantity: 2 }] },
        headers: { "idempotency-key": key },
      });
      assert.equal(other.status, 422);
      assert.equal(other.body.type, "https://comptoir.dev/problems/idempotency-key-reused");
    });

    await t.step("customers see only their own orders", async () => {
      const mine = await call(alice.client, "api/v1/orders");
      assert.equal(mine.status, 200);
      assert.equal(mine.body.data.length, 2);
      assert.ok(mine.body.data.every((o: { id: number }) => o.id >= aliceOrder));
      assert.equal((await call(alice.client, `api/v1/orders/${aliceOrder}`)).status, 200);
      const snooping = await call(bob.client, `api/v1/orders/${aliceOrder}`);
      assert.equal(snooping.status, 404);
      const page1 = await call(alice.client, "api/v2/orders?limit=1");
      assert.equal(page1.body.page.has_more, true);
      const page2 = await call(
        alice.client,
        `api/v2/orders?limit=1&cursor=${page1.body.page.next_cursor}`,
      );
      assert.equal(page2.body.data[0].id, aliceOrder);
      assert.equal(page2.body.page.has_more, false);
    });

    await t.step("order detail carries the customer and product names", async () => {
      const res = await call(alice.client, `api/v1/orders/${aliceOrder}`);
      assert.deepEqual(res.body.customer, {
        id: alice.id,
        email: alice.email,
        full_name: alice.email.split("@")[0],
      });
      assert.deepEqual(res.body.items.map((i: { name: string }) => i.name), ["Mug", "Teapot"]);
    });

    await t.step("anonymous callers cannot order; stock stays untouched", async () => {
      const res = await call(anon, "api/v1/orders", {
        method: "POST",
        body: { items: [{ product_id: mug.id, quantity: 1 }] },
      });
      assert.equal(res.status, 401);
      const [stock] = await sql`select reserved from public.inventory where product_id = ${mug.id}`;
      assert.equal(stock.reserved, 3);
    });

    await t.step("asking for more than the stock is a 409 listing the shortage", async () => {
      const res = await call(alice.client, "api/v1/orders", {
        method: "POST",
        body: { items: [{ product_id: mug.id, quantity: 98 }] },
      });
      assert.equal(res.status, 409);
      assert.deepEqual(res.body.shortages, [{ product_id: mug.id, requested: 98, available: 97 }]);
    });

    await t.step("50 concurrent orders for the last 10 units: exactly 10 succeed", async () => {
      const last = await createProduct(sql, {
        sku: `${upper}-LAST`,
        name: "Last units",
        price_cents: 999,
        category_id: cat,
        on_hand: 10,
      });
      const buyers = [alice, bob, admin];
      const results = await Promise.all(
        Array.from(
          { length: 50 },
          (_, i) =>
            call(buyers[i % buyers.length].client, "api/v1/orders", {
              method: "POST",
              body: { items: [{ product_id: last.id, quantity: 1 }] },
            }),
        ),
      );
      const statuses = results.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 201).length, 10);
      assert.equal(statuses.filter((s) => s === 409).length, 40);
      const [stock] =
        await sql`select on_hand, reserved from public.inventory where product_id = ${last.id}`;
      assert.deepEqual([stock.on_hand, stock.reserved], [10, 10]);
    });

    await t.step("the sales dashboard is for admins and the service role", async () => {
      assert.equal((await call(anon, "api/v1/dashboard/sales")).status, 401);
      const customer = await call(alice.client, "api/v1/dashboard/sales");
      assert.equal(customer.status, 403);
      const res = await call(admin.client, "api/v1/dashboard/sales?days=7");
      assert.equal(res.status, 200);
      assert.equal(res.body.daily.length, 7);
      for (const key of ["revenue_cents", "orders", "units", "avg_basket_cents"]) {
        assert.equal(typeof res.body.totals[key], "number");
      }
      const viaService = await call(service, "api/v1/dashboard/top-products?days=30&limit=3");
      assert.equal(viaService.status, 200);
      assert.ok(viaService.body.data.length <= 3);
    });
  } finally {
    await ctx.stop();
  }
});
