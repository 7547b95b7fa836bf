import assert from "node:assert/strict";
import postgres from "postgres";
import { testDatabaseUrl } from "../_support/dev_server.ts";
import { call, createCategory, createProduct, setUp } from "./_fixtures.ts";

/** Sets private.order_limits for a test; returns a function that restores the previous values. */
async function withLimits(
  sql: postgres.Sql,
  limits: { max_pending_orders: number; max_pending_units: number },
): Promise<() => Promise<void>> {
  const [before] = await sql`
    select max_pending_orders, max_pending_units from private.order_limits where id`;
  await sql`update private.order_limits set ${sql(limits)} where id`;
  return async () => {
    await sql`update private.order_limits set ${sql(before)} where id`;
  };
}

/** Makes the reservations of these orders look older than any TTL. */
async function ageReservations(sql: postgres.Sql, orderIds: number[]) {
  await sql`
    update private.order_reservations set reserved_at = now() - interval '8 days'
    where order_id = any (${orderIds}::bigint[])`;
}

Deno.test("api orders: unpaid reservations expire and each customer's pending orders are capped", async (t) => {
  const ctx = await setUp();
  const { sql, alice, bob, tag } = ctx;
  const restore = await withLimits(sql, { max_pending_orders: 2, max_pending_units: 300 });
  try {
    const upper = tag.toUpperCase();
    const cat = await createCategory(sql, `${tag}-reservations`);
    const scarce = await createProduct(sql, {
      sku: `${upper}-SCARCE`,
      name: "Scarce",
      price_cents: 500,
      category_id: cat,
      on_hand: 300,
    });
    const placed: number[] = [];

    await t.step("one customer takes the whole stock; the next one is refused", async () => {
      const res = await call(alice.client, "api/v1/orders", {
        method: "POST",
        body: { items: [{ product_id: scarce.id, quantity: 300 }] },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      placed.push(res.body.id);
      const refused = await call(bob.client, "api/v1/orders", {
        method: "POST",
        body: { items: [{ product_id: scarce.id, quantity: 1 }] },
      });
      assert.equal(refused.status, 409);
    });

    await t.step(
      "more pending units than the cap is a 429 problem, and writes nothing",
      async () => {
        const res = await call(alice.client, "api/v1/orders", {
          method: "POST",
          body: { items: [{ product_id: scarce.id, quantity: 1 }] },
        });
        assert.equal(res.status, 429);
        assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
        assert.equal(res.body.type.endsWith("too-many-pending-orders"), true, res.body.type);
        assert.deepEqual(res.body.limits, {
          max_pending_orders: 2,
          max_pending_units: 300,
          pending_orders: 1,
          pending_units: 300,
          requested_units: 1,
        });
        const [{ n }] = await sql`
        select count(*)::int as n from public.orders where customer_id = ${alice.id}`;
        assert.equal(n, 1);
      },
    );

    await t.step(
      "once the reservation expires the order is cancelled and the stock is back",
      async () => {
        await ageReservations(sql, placed);
        const [{ expired }] = await sql`select private.expire_pending_orders() as expired`;
        assert.ok(expired >= 1);
        const order = await call(alice.client, `api/v1/orders/${placed[0]}`);
        assert.equal(order.status, 200);
        assert.equal(order.body.status, "cancelled");
        const stock = await call(bob.client, `api/v1/inventory?product_ids=${scarce.id}`);
        assert.equal(stock.body.data[0].available, 300);
        const bought = await call(bob.client, "api/v1/orders", {
          method: "POST",
          body: { items: [{ product_id: scarce.id, quantity: 100 }] },
        });
        assert.equal(bought.status, 201);
      },
    );

    await t.step("more pending orders than the cap is refused too", async () => {
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        const res = await call(bob.client, "api/v1/orders", {
          method: "POST",
          body: { items: [{ product_id: scarce.id, quantity: 1 }] },
        });
        statuses.push(res.status);
      }
      assert.deepEqual(statuses, [201, 429, 429]);
    });
  } finally {
    await restore();
    await ctx.stop();
  }
});

Deno.test("api orders: expiry runs beside concurrent placements without losing a unit", async () => {
  const ctx = await setUp();
  const { sql, alice, bob, admin, tag } = ctx;
  const restore = await withLimits(sql, { max_pending_orders: 1000, max_pending_units: 100000 });
  try {
    const product = await createProduct(sql, {
      sku: `${tag.toUpperCase()}-BUSY`,
      name: "Busy",
      price_cents: 200,
      category_id: await createCategory(sql, `${tag}-busy`),
      on_hand: 1000,
    });
    const buyers = [alice, bob, admin];
    let placing = true;
    // The sweeper ages whatever has been placed so far and expires it, again and again, while
    // placements for the same stock rows keep arriving.
    const sweeper = (async () => {
      let sweeps = 0;
      let expired = 0;
      while (placing || sweeps === 0) {
        await sql`
          update private.order_reservations r set reserved_at = now() - interval '8 days'
          from public.order_items i
          where i.order_id = r.order_id and i.product_id = ${product.id}`;
        const [row] = await sql`select private.expire_pending_orders() as n`;
        expired += row.n;
        sweeps++;
      }
      return { sweeps, expired };
    })();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        call(buyers[i % buyers.length].client, "api/v1/orders", {
          method: "POST",
          body: { items: [{ product_id: product.id, quantity: 1 + (i % 5) }] },
        })),
    ).finally(() => {
      placing = false;
    });
    const { sweeps } = await sweeper;
    assert.deepEqual(
      results.filter((r) => r.status !== 201).map((r) => [r.status, r.body]),
      [],
      "every placement succeeds: no deadlock, no lock timeout",
    );
    assert.ok(sweeps >= 1);

    // Whatever is still pending now: its reserved units are exactly what the stock row holds.
    const [live] = await sql`
      select i.reserved,
        (select coalesce(sum(oi.quantity), 0)::int from public.order_items oi
          join public.orders o on o.id = oi.order_id
          where oi.product_id = ${product.id} and o.status = 'pending') as pending_units,
        (select count(*)::int from private.order_reservations r
          join public.orders o on o.id = r.order_id
          where o.status <> 'pending') as stale_records
      from public.inventory i where i.product_id = ${product.id}`;
    assert.equal(live.reserved, live.pending_units);
    assert.equal(live.stale_records, 0);

    // A last sweep empties it: every order placed is cancelled and no unit stays held.
    const ids = results.map((r) => Number(r.body.id));
    await ageReservations(sql, ids);
    await sql`select private.expire_pending_orders()`;
    const [after] = await sql`
      select i.reserved,
        (select count(*)::int from public.orders o
          where o.id = any (${ids}::bigint[]) and o.status = 'cancelled') as cancelled
      from public.inventory i where i.product_id = ${product.id}`;
    assert.deepEqual([after.reserved, after.cancelled], [0, ids.length]);
  } finally {
    await restore();
    await ctx.stop();
  }
});

Deno.test("api orders: expiry skips an order locked by a payment in progress", async () => {
  const sql = postgres(testDatabaseUrl(), { max: 2, onnotice: () => {} });
  // A run that waited on the lock instead of skipping it would fail here rather than hang.
  const sweeper = postgres(testDatabaseUrl(), {
    max: 1,
    onnotice: () => {},
    connection: { statement_timeout: 10_000 },
  });
  const tag = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  try {
    const [user] = await sql`
      insert into auth.users (id, aud, role, email)
      values (gen_random_uuid(), 'authenticated', 'authenticated', ${`payer.${tag}@example.com`})
      returning id`;
    const product = await createProduct(sql, {
      sku: `${tag.toUpperCase()}-PAY`,
      name: "Paid meanwhile",
      price_cents: 100,
      category_id: await createCategory(sql, `${tag}-pay`),
      on_hand: 10,
    });
    const place = async () => {
      const [row] = await sql`
        select order_id from shop_api.place_order(${user.id}::uuid,
          ${sql.json([{ product_id: product.id, quantity: 2 }])})`;
      return Number(row.order_id);
    };
    const paying = await place();
    const other = await place();
    await ageReservations(sql, [paying, other]);

    let expiredMeanwhile = -1;
    await sql.begin(async (payment) => {
      await payment`select id from public.orders where id = ${paying} for update`;
      const [row] = await sweeper`select private.expire_pending_orders() as n`;
      expiredMeanwhile = row.n;
      await payment`update public.orders set status = 'paid' where id = ${paying}`;
    });
    assert.ok(expiredMeanwhile >= 1, "the unlocked order expired meanwhile");
    await sweeper`select private.expire_pending_orders()`;

    const rows = await sql`
      select id, status::text from public.orders where id in (${paying}, ${other}) order by id`;
    assert.deepEqual(rows.map((r) => [Number(r.id), r.status]), [[paying, "paid"], [
      other,
      "cancelled",
    ]]);
    const [stock] =
      await sql`select reserved from public.inventory where product_id = ${product.id}`;
    assert.equal(
      stock.reserved,
      2,
      "the paid order keeps its units, the expired one gave its back",
    );
  } finally {
    await sweeper.end();
    await sql.end();
  }
});
