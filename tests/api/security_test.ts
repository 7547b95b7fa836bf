/**
 * What the API lets a client see and send, through the gateway on the test cluster: server text
 * (Postgres messages, SQLSTATEs) never reaches a client, ids are integers and nothing else, error
 * bodies stay small whatever the request, every response is nosniff and personal data is never
 * stored by a cache, and the documented maximum page size works.
 */
import assert from "node:assert/strict";
import { call, createCategory, createProduct, setUp, type TestProduct } from "./_fixtures.ts";

const SERVER_TEXT =
  /invalid input syntax|bigint|integer|is out of range for|sqlstate|22P02|22003|p_limit|p_after|jsonb/i;

function b64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(cursor: string): Record<string, unknown> {
  return JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
}

Deno.test("api security: what clients see and send", async (t) => {
  const ctx = await setUp();
  const { sql, anon, alice, admin, server, tag } = ctx;
  const raw = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}/functions/v1/${path}`, {
      ...init,
      headers: { authorization: `Bearer ${server.anonKey}`, ...init.headers },
    });
  try {
    const cat = await createCategory(sql, `${tag}-sec`);
    const products: TestProduct[] = [];
    for (let i = 0; i < 3; i++) {
      products.push(
        await createProduct(sql, {
          sku: `${tag.toUpperCase()}-SEC-${i}`,
          name: `Security ${i}`,
          price_cents: 100 + i,
          category_id: cat,
          on_hand: 50,
        }),
      );
    }

    await t.step("a tampered cursor is a 400 with a fixed message, no server text", async () => {
      const first = await call(anon, `api/v1/categories/${cat}/products?sort=price&limit=1`);
      assert.equal(first.status, 200);
      const position = fromB64url(first.body.next_cursor);
      const tampered = [
        { ...position, price_cents: 1e308 },
        { ...position, price_cents: "abc" },
        { ...position, id: "1; drop table x" },
        { ...position, id: 1e308 },
        { name: "x", id: 1 },
        { price_cents: [1], id: { a: 1 } },
      ];
      for (const cursor of tampered) {
        const res = await call(
          anon,
          `api/v1/categories/${cat}/products?sort=price&limit=1&cursor=${b64url(cursor)}`,
        );
        assert.equal(res.status, 400, JSON.stringify([cursor, res.body]));
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        assert.doesNotMatch(JSON.stringify(res.body), SERVER_TEXT, JSON.stringify(res.body));
        assert.equal(res.body.sqlstate, undefined);
      }
    });

    await t.step("path and query ids are decimal digits in range", async () => {
      for (
        const id of ["0xC8", "2e2", "true", "1.0", " 1", "+1", "0", "9007199254740992", "1_000"]
      ) {
        const res = await raw(`api/v1/products/${encodeURIComponent(id)}`);
        assert.equal(res.status, 400, `products/${id}`);
        await res.body?.cancel();
      }
      for (const query of ["product_ids=0xC8", "product_ids=2e2", "product_ids=true"]) {
        const res = await raw(`api/v1/inventory?${query}`);
        assert.equal(res.status, 400, query);
        await res.body?.cancel();
      }
      for (const query of ["category_id=0x1", "category_id=1e1"]) {
        const res = await raw(`api/v1/products?${query}`);
        assert.equal(res.status, 400, query);
        await res.body?.cancel();
      }
      const ok = await call(anon, `api/v1/products/${products[0].id}`);
      assert.equal(ok.status, 200);
      const many = await call(
        anon,
        `api/v1/inventory?product_ids=${products[0].id},${products[1].id}`,
      );
      assert.equal(many.status, 200);
      assert.equal(many.body.data.length, 2);
    });

    await t.step("body ids are JSON integers", async () => {
      const id = products[0].id;
      for (const bad of [true, String(id), [[id]], id + 0.5, 1e300, -id]) {
        const res = await call(alice.client, "api/v1/orders", {
          method: "POST",
          body: { items: [{ product_id: bad, quantity: 1 }] },
        });
        assert.equal(res.status, 422, JSON.stringify(bad));
        assert.ok(
          res.body.errors.some((e: { pointer: string }) => e.pointer === "/items/0/product_id"),
        );
      }
      const [{ reserved }] =
        await sql`select reserved from public.inventory where product_id = ${id}`;
      assert.equal(reserved, 0);
    });

    await t.step("error bodies are capped and say so", async () => {
      const query = Array.from({ length: 6000 }, (_, i) => `k${i}=1`).join("&");
      const res = await raw(`api/v1/products?${query}`);
      assert.equal(res.status, 400);
      const text = await res.text();
      assert.ok(text.length < 8_192, `error body of ${text.length} bytes`);
      const body = JSON.parse(text);
      assert.ok(body.errors.length <= 20);
      assert.equal(body.error_count, 6000);
      assert.equal(body.errors_truncated, true);
      assert.match(body.detail, /6000 invalid fields/);
      // Echoed values are bounded too: a huge key name, a huge version, a huge content type.
      const long = "k".repeat(20_000);
      for (
        const [path, init] of [
          [`api/v1/products?${long}=1`, {}],
          [`api/products`, { headers: { "api-version": "v".repeat(6000) } }],
          ["api/v1/orders", {
            method: "POST",
            headers: {
              "content-type": `text/${"x".repeat(6000)}`,
              authorization: `Bearer ${alice.token}`,
            },
            body: "x",
          }],
          [`api/v1/${"x".repeat(6000)}`, {}],
          ["api/v1/orders", {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
            body: `{"items": ${"x".repeat(6000)}`,
          }],
        ] as [string, RequestInit][]
      ) {
        const answer = await raw(path, init);
        assert.ok(
          answer.status >= 400 && answer.status < 500,
          `${answer.status} ${path.slice(0, 40)}`,
        );
        const size = (await answer.text()).length;
        assert.ok(size < 2_048, `${path.slice(0, 40)}: error body of ${size} bytes`);
      }
    });

    await t.step(
      "every response is nosniff; personal data and authenticated errors are no-store",
      async () => {
        const nosniff = (res: { headers: Headers }, what: string) =>
          assert.equal(res.headers.get("x-content-type-options"), "nosniff", what);
        const noStore = (res: { headers: Headers }, what: string) =>
          assert.match(res.headers.get("cache-control") ?? "", /no-store/, what);
        const list = await call(anon, "api/v1/products?limit=1");
        nosniff(list, "products");
        nosniff(await call(anon, "api/v1/products?limit=abc"), "400");
        nosniff(await call(anon, "api/v1/nothing-here"), "404");
        const openapi = await raw("api/openapi.json");
        nosniff(openapi, "openapi");
        await openapi.body?.cancel();

        const placed = await call(alice.client, "api/v2/orders", {
          method: "POST",
          body: { items: [{ product_id: products[1].id, quantity: 1 }] },
        });
        assert.equal(placed.status, 201);
        assert.ok(placed.body.customer?.email);
        for (
          const [what, res] of [
            ["POST /orders", placed],
            ["GET /orders", await call(alice.client, "api/v2/orders")],
            ["GET /orders/:id", await call(alice.client, `api/v2/orders/${placed.body.id}`)],
            ["GET /dashboard/sales", await call(admin.client, "api/v2/dashboard/sales?days=7")],
            [
              "GET /dashboard/top-products",
              await call(admin.client, "api/v2/dashboard/top-products"),
            ],
            ["a 404 of a signed-in user", await call(alice.client, "api/v2/orders/999999999999")],
            ["a 403 of a signed-in user", await call(alice.client, "api/v2/dashboard/sales")],
            ["a 400 of a signed-in user", await call(alice.client, "api/v2/orders?limit=0")],
          ] as const
        ) {
          assert.ok(res.status < 500, `${what}: ${res.status}`);
          nosniff(res, what);
          noStore(res, what);
        }
      },
    );

    await t.step("limit=100, the documented maximum, pages correctly", async () => {
      for (const count of [100, 101]) {
        const big = await createCategory(sql, `${tag}-page-${count}`);
        await sql`
          insert into public.products (sku, name, description, price_cents, currency, category_id, active)
          select ${`${tag.toUpperCase()}-P${count}-`} || g, 'Page ' || g, 'Paging', 100 + g, 'EUR', ${big}, true
          from generate_series(1, ${count}) g`;
        const first = await call(anon, `api/v2/categories/${big}/products?limit=100&sort=price`);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.data.length, 100);
        assert.equal(first.body.page.limit, 100);
        assert.equal(first.body.page.has_more, count > 100);
        if (count > 100) {
          const next = await call(
            anon,
            `api/v2/categories/${big}/products?limit=100&sort=price&cursor=${first.body.page.next_cursor}`,
          );
          assert.equal(next.status, 200);
          assert.equal(next.body.data.length, 1);
          assert.equal(next.body.page.has_more, false);
          assert.equal(next.body.page.next_cursor, null);
        } else {
          assert.equal(first.body.page.next_cursor, null);
        }
      }
      for (const path of ["api/v2/products?limit=100", "api/v1/products?limit=100&sort=-price"]) {
        const res = await call(anon, path);
        assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
      }
    });
  } finally {
    await ctx.stop();
  }
});
