import assert from "node:assert/strict";
import { call, createCategory, createProduct, setUp } from "./_fixtures.ts";

/** Waits for `check` to hold (records written after the response), up to `ms`. */
async function eventually<T>(check: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test("api audit: who changed an order, its history for the owner, the admin search", async (t) => {
  const ctx = await setUp();
  const { sql, anon, alice, bob, admin, service, tag } = ctx;
  try {
    const cat = await createCategory(sql, `${tag}-audit`);
    const mug = await createProduct(sql, {
      sku: `${tag.toUpperCase()}-AMUG`,
      name: "Audited mug",
      price_cents: 1500,
      category_id: cat,
      on_hand: 50,
    });
    const requestId = `req-${tag}-order`;
    let orderId = 0;
    let orderRecord = "";

    await t.step(
      "an order placed through the API is recorded as the customer's, with the request id",
      async () => {
        const res = await call(alice.client, "api/v2/orders", {
          method: "POST",
          body: { items: [{ product_id: mug.id, quantity: 3 }] },
          headers: { "x-request-id": requestId },
        });
        assert.equal(res.status, 201);
        assert.equal(res.headers.get("x-request-id"), requestId);
        orderId = res.body.id;
        const rows = await sql<
          {
            table_name: string;
            op: string;
            auth_uid: string;
            auth_role: string;
            request_id: string;
          }[]
        >`
        select table_name, op, auth_uid::text, auth_role, request_id from audit.record_version
        where request_id = ${requestId} order by id`;
        assert.deepEqual(
          rows.map((r) => `${r.op} ${r.table_name}`).sort(),
          ["INSERT customers", "INSERT order_items", "INSERT orders", "UPDATE inventory"],
        );
        for (const row of rows) {
          assert.equal(row.auth_uid, alice.id);
          assert.equal(row.auth_role, "authenticated");
        }
        const [{ id }] = await sql`
        select audit.record_id('public.orders', jsonb_build_array(${orderId}::bigint))::text as id`;
        orderRecord = id;
      },
    );

    await t.step("the owner reads the order's history, oldest first", async () => {
      await sql`update public.orders set status = 'paid' where id = ${orderId}`;
      const res = await call(alice.client, `api/v2/orders/${orderId}/history`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.deepEqual(
        res.body.data.map((e: { op: string; table: string }) => `${e.op} ${e.table}`),
        ["INSERT public.orders", "INSERT public.order_items", "UPDATE public.orders"],
      );
      const [placed, , paid] = res.body.data;
      assert.equal(placed.record_id, orderRecord);
      assert.equal(placed.actor.uid, alice.id);
      assert.equal(placed.request_id, requestId);
      assert.equal(paid.old_record.status, "pending");
      assert.equal(paid.record.status, "paid");
      assert.equal(res.body.page.has_more, false);
    });

    await t.step("another customer gets 404, as for a missing order; anon 401", async () => {
      const other = await call(bob.client, `api/v2/orders/${orderId}/history`);
      assert.equal(other.status, 404);
      assert.match(other.headers.get("content-type") ?? "", /application\/problem\+json/);
      const missing = await call(bob.client, "api/v2/orders/999999999/history");
      assert.equal(missing.status, 404);
      assert.deepEqual(Object.keys(other.body).sort(), Object.keys(missing.body).sort());
      assert.equal((await call(anon, `api/v2/orders/${orderId}/history`)).status, 401);
    });

    await t.step("the owner pages through the history with a cursor", async () => {
      const first = await call(alice.client, `api/v2/orders/${orderId}/history?limit=2`);
      assert.equal(first.status, 200);
      assert.equal(first.body.data.length, 2);
      assert.equal(first.body.page.has_more, true);
      const second = await call(
        alice.client,
        `api/v2/orders/${orderId}/history?limit=2&cursor=${first.body.page.next_cursor}`,
      );
      assert.equal(second.status, 200);
      assert.deepEqual(second.body.data.map((e: { op: string }) => e.op), ["UPDATE"]);
      assert.equal(second.body.page.next_cursor, null);
    });

    await t.step("an admin searches by record, actor, action, table and time range", async () => {
      const byRecord = await call(admin.client, `api/v2/admin/audit?record=${orderRecord}`);
      assert.equal(byRecord.status, 200);
      assert.deepEqual(byRecord.body.data.map((e: { op: string }) => e.op), ["UPDATE", "INSERT"]);

      const byActor = await call(
        admin.client,
        `api/v2/admin/audit?actor=${alice.id}&action=insert&table=order_items`,
      );
      assert.equal(byActor.status, 200);
      assert.equal(byActor.body.data.length, 1);
      assert.equal(byActor.body.data[0].record.order_id, orderId);

      const future = new Date(Date.now() + 3_600_000).toISOString();
      const none = await call(admin.client, `api/v2/admin/audit?actor=${alice.id}&from=${future}`);
      assert.equal(none.status, 200);
      assert.deepEqual(none.body.data, []);

      const service_ = await call(service, `api/v2/admin/audit?record=${orderRecord}&limit=1`);
      assert.equal(service_.status, 200);
      assert.equal(service_.body.data.length, 1);
      const next = await call(
        service,
        `api/v2/admin/audit?record=${orderRecord}&limit=1&cursor=${service_.body.page.next_cursor}`,
      );
      assert.equal(next.status, 200);
      assert.notEqual(next.body.data[0].id, service_.body.data[0].id);
      assert.equal(next.body.data[0].op, "INSERT");
    });

    await t.step("each admin search and dashboard read is itself recorded", async () => {
      const searchId = `req-${tag}-search`;
      const res = await call(admin.client, `api/v2/admin/audit?table=products&limit=5`, {
        headers: { "x-request-id": searchId },
      });
      assert.equal(res.status, 200);
      const [read] = await sql`
        select action, auth_uid::text, details from audit.record_version
        where request_id = ${searchId}`;
      assert.equal(read.action, "audit.read");
      assert.equal(read.auth_uid, admin.id);
      assert.deepEqual(read.details, { filters: { table: "products" } });

      const dashId = `req-${tag}-dashboard`;
      const dash = await call(admin.client, "api/v2/dashboard/sales?days=7", {
        headers: { "x-request-id": dashId },
      });
      assert.equal(dash.status, 200);
      const [seen] = await sql`
        select action, target, details from audit.record_version where request_id = ${dashId}`;
      assert.deepEqual(
        [seen.action, seen.target, seen.details],
        ["dashboard.read", "sales", { params: { days: 7 } }],
      );
    });

    await t.step(
      "a customer refused the admin search gets 403, and the refusal is recorded",
      async () => {
        const refusedId = `req-${tag}-refused`;
        const res = await call(alice.client, "api/v2/admin/audit", {
          headers: { "x-request-id": refusedId },
        });
        assert.equal(res.status, 403);
        const refusal = await eventually(async () => {
          const [row] = await sql`
          select action, target, auth_uid::text, details from audit.record_version
          where request_id = ${refusedId}`;
          return row;
        });
        assert.equal(refusal.action, "authorization.refused");
        assert.equal(refusal.target, "GET /api/v2/admin/audit");
        assert.equal(refusal.auth_uid, alice.id);
        assert.deepEqual(refusal.details, { required: ["admin", "service_role"] });
        assert.equal((await call(anon, "api/v2/admin/audit")).status, 401);
      },
    );

    await t.step("bad filters are 400 problem+json and write nothing", async () => {
      const [before] = await sql`
        select count(*)::int as n from audit.record_version where auth_uid = ${admin.id}`;
      const bad = [
        "table=products;drop",
        "record=not-a-uuid",
        "actor=42",
        "action=DROP",
        "action=update.",
        "from=yesterday",
        "from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z",
        "limit=0",
        "limit=101",
        "cursor=%%%",
        `cursor=${btoa(JSON.stringify({ ts: "x".repeat(400), id: 1 }))}`,
        "unknown=1",
      ];
      for (const query of bad) {
        const res = await call(admin.client, `api/v2/admin/audit?${query}`);
        assert.equal(res.status, 400, query);
        assert.match(res.headers.get("content-type") ?? "", /application\/problem\+json/, query);
        assert.equal(typeof res.body.type, "string", query);
      }
      // A cursor of the right shape whose values the database refuses (not a timestamp).
      const forged = btoa(JSON.stringify({ ts: "not a time", id: 1 })).replace(/=+$/, "");
      const refused = await call(admin.client, `api/v2/admin/audit?cursor=${forged}`);
      assert.equal(refused.status, 400);
      const [after] = await sql`
        select count(*)::int as n from audit.record_version where auth_uid = ${admin.id}`;
      assert.equal(after.n, before.n);
      assert.equal((await call(admin.client, "api/v1/admin/audit")).status, 404);
    });
  } finally {
    await ctx.stop();
  }
});
