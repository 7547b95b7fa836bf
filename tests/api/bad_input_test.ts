import assert from "node:assert/strict";
import fc from "fast-check";
import { call, createCategory, createProduct, setUp } from "./_fixtures.ts";
import "../_support/local_function_env.ts";
import { api } from "../../supabase/functions/api/app.ts";

Deno.test("api bad input: every malformed request is a documented 4xx and changes nothing", async (t) => {
  const ctx = await setUp();
  const { sql, anon, alice, server, tag } = ctx;
  try {
    const cat = await createCategory(sql, `${tag}-bad`);
    const item = await createProduct(sql, {
      sku: `${tag.toUpperCase()}-BAD`,
      name: "Bad input target",
      price_cents: 500,
      category_id: cat,
      on_hand: 5,
    });
    const snapshot = async () =>
      await sql`select (select count(*)::int from public.orders) as orders,
                       (select count(*)::int from public.order_items) as items,
                       (select sum(reserved)::int from public.inventory) as reserved`;
    const before = await snapshot();

    const orderCases: [string, unknown, number, string][] = [
      ["wrong type", { items: "all" }, 422, "/items"],
      ["missing items", {}, 422, "/items"],
      ["empty items", { items: [] }, 422, "/items"],
      [
        "negative quantity",
        { items: [{ product_id: item.id, quantity: -1 }] },
        422,
        "/items/0/quantity",
      ],
      [
        "zero quantity",
        { items: [{ product_id: item.id, quantity: 0 }] },
        422,
        "/items/0/quantity",
      ],
      [
        "fractional quantity",
        { items: [{ product_id: item.id, quantity: 1.5 }] },
        422,
        "/items/0/quantity",
      ],
      [
        "string id",
        { items: [{ product_id: "1; drop table orders", quantity: 1 }] },
        422,
        "/items/0/product_id",
      ],
      ["SQL-looking SKU", { items: [{ sku: "' OR 1=1 --", quantity: 1 }] }, 422, "/items/0/sku"],
      ["oversize SKU", { items: [{ sku: "A".repeat(500), quantity: 1 }] }, 422, "/items/0/sku"],
      [
        "both id and sku",
        { items: [{ product_id: item.id, sku: item.sku, quantity: 1 }] },
        422,
        "/items/0/product_id",
      ],
      [
        "client-side price",
        { items: [{ product_id: item.id, quantity: 1, price_cents: 1 }] },
        422,
        "/items/0/price_cents",
      ],
      [
        "unknown top-level field",
        { items: [{ product_id: item.id, quantity: 1 }], total_cents: 0 },
        422,
        "/total_cents",
      ],
      [
        "too many lines",
        { items: Array.from({ length: 51 }, () => ({ product_id: item.id, quantity: 1 })) },
        422,
        "/items",
      ],
      ["unknown product", { items: [{ product_id: 999999999, quantity: 1 }] }, 422, ""],
      ["more than in stock", { items: [{ product_id: item.id, quantity: 6 }] }, 409, ""],
    ];
    for (const [name, body, status, pointer] of orderCases) {
      await t.step(`POST /orders with ${name} → ${status}`, async () => {
        const res = await call(alice.client, "api/v1/orders", { method: "POST", body });
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        if (pointer) {
          assert.ok(
            res.body.errors.some((e: { pointer: string }) => e.pointer === pointer),
            JSON.stringify(res.body.errors),
          );
        }
      });
    }

    const rawCases: [string, BodyInit, Record<string, string>, number][] = [
      ["malformed JSON", '{"items": [', { "content-type": "application/json" }, 400],
      ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), {
        "content-type": "application/json",
      }, 400],
      ["a text body", "items=1", { "content-type": "text/plain" }, 415],
      ["a huge body", JSON.stringify({ items: [{ sku: "X".repeat(200_000), quantity: 1 }] }), {
        "content-type": "application/json",
      }, 413],
      ["a bad idempotency key", JSON.stringify({ items: [{ product_id: item.id, quantity: 1 }] }), {
        "content-type": "application/json",
        "idempotency-key": "é".repeat(3),
      }, 400],
    ];
    for (const [name, body, headers, status] of rawCases) {
      await t.step(`POST /orders with ${name} → ${status}`, async () => {
        const res = await fetch(`${server.url}/functions/v1/api/v1/orders`, {
          method: "POST",
          headers: { ...headers, authorization: `Bearer ${alice.token}` },
          body,
        });
        assert.equal(res.status, status);
        assert.equal(res.headers.get("content-type"), "application/problem+json");
        await res.body?.cancel();
      });
    }

    const queryCases: [string, number][] = [
      ["api/v1/products?limit=0", 400],
      ["api/v1/products?limit=abc", 400],
      ["api/v1/products?min_price=-5", 400],
      ["api/v1/products?min_price=900&max_price=100", 400],
      ["api/v1/products?sort=popularity", 400],
      ["api/v1/products?in_stock=maybe", 400],
      ["api/v1/products?cursor=not*base64", 400],
      ["api/v1/products?cursor=bm90IGpzb24", 400],
      [`api/v1/products?q=${"x".repeat(300)}`, 400],
      ["api/v1/products?q=%FF%FE", 400],
      ["api/v1/products?unknown=1", 400],
      ["api/v1/products/abc", 400],
      ["api/v1/products/-3", 400],
      ["api/v1/inventory", 400],
      [
        `api/v1/inventory?product_ids=${Array.from({ length: 101 }, (_, i) => i + 1).join(",")}`,
        400,
      ],
      ["api/v1/inventory?skus=' OR 1=1 --", 400],
      ["api/v1/orders/1", 401],
      ["api/v1/nothing-here", 404],
    ];
    for (const [path, status] of queryCases) {
      await t.step(`GET ${path.slice(0, 60)} → ${status}`, async () => {
        const res = await call(anon, path);
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.equal(res.headers.get("content-type"), "application/problem+json");
      });
    }

    await t.step("a wrong method is a 405 with Allow", async () => {
      const res = await fetch(`${server.url}/functions/v1/api/v1/categories`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${server.anonKey}` },
      });
      assert.equal(res.status, 405);
      assert.match(res.headers.get("allow") ?? "", /GET/);
      await res.body?.cancel();
    });

    await t.step("the database is exactly as before", async () => {
      assert.deepEqual(await snapshot(), before);
    });

    await t.step("random query strings never yield a 5xx", async () => {
      const paths = [
        "products",
        "categories",
        `categories/${cat}/products`,
        "inventory",
        "products/1",
      ];
      const key = fc.constantFrom(
        "q",
        "limit",
        "cursor",
        "sort",
        "min_price",
        "max_price",
        "in_stock",
        "category_id",
        "product_ids",
        "skus",
        "api-version",
        "x",
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...paths),
          fc.array(fc.tuple(key, fc.string({ unit: "binary", maxLength: 40 })), { maxLength: 5 }),
          async (path, params) => {
            const qs = params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");
            const res = await fetch(`${server.url}/functions/v1/api/v1/${path}?${qs}`, {
              headers: { authorization: `Bearer ${server.anonKey}` },
            });
            await res.body?.cancel();
            return res.status < 500;
          },
        ),
        { numRuns: 300, seed: 20261126 },
      );
    });
  } finally {
    await ctx.stop();
  }
});

Deno.test("api OpenAPI document lists every route, parameter and error", async () => {
  const ctx = await setUp();
  try {
    const res = await fetch(`${ctx.server.url}/functions/v1/api/openapi.json`, {
      headers: { authorization: `Bearer ${ctx.server.anonKey}` },
    });
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.openapi, "3.1.0");
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    const registered = api.list().map((r) => r.replace(/:(\w+)/g, "{$1}")).sort();
    assert.deepEqual(documented, registered);
    assert.equal(registered.length, 22);
    const search = doc.paths["/api/v2/products"].get;
    assert.deepEqual(
      search.parameters.map((p: { name: string }) => p.name).sort(),
      ["category_id", "cursor", "in_stock", "limit", "max_price", "min_price", "q", "sort"],
    );
    assert.ok(search.responses["400"]);
    assert.ok(doc.paths["/api/v1/orders"].post.requestBody);
    assert.equal(doc.paths["/api/v1/orders"].post.deprecated, true);
  } finally {
    await ctx.stop();
  }
});
