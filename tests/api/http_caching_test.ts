/**
 * HTTP caching of catalog reads (RFC 9110 conditional requests, RFC 9111 caching, RFC 5861
 * stale-while-revalidate): ETag and Cache-Control on their 200s, 304 for a matching
 * If-None-Match with the caching and CORS headers kept, a new ETag once the data changes, Vary on
 * the version headers; never for signed-in or stock data.
 * @module
 */
import assert from "node:assert/strict";
import { type ApiContext, call, createCategory, createProduct, setUp } from "./_fixtures.ts";

let ctx: ApiContext;

const base = () => `${ctx.server.url}/functions/v1/api`;
const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${base()}${path}`, {
    headers: {
      authorization: `Bearer ${ctx.server.anonKey}`,
      origin: "https://shop.example",
      ...headers,
    },
  });

Deno.test("catalog reads", async (t) => {
  ctx = await setUp();
  try {
    const category = await createCategory(ctx.sql, `${ctx.tag}-cache`);
    const product = await createProduct(ctx.sql, {
      sku: `${ctx.tag.toUpperCase()}-C1`,
      name: `${ctx.tag} kettle`,
      price_cents: 3100,
      category_id: category,
      on_hand: 5,
    });

    await t.step("answer 200 with a strong ETag, Cache-Control and Vary", async () => {
      for (
        const path of ["/v2/categories", `/v2/products/${product.id}`, `/v2/products?q=${ctx.tag}`]
      ) {
        const res = await get(path);
        await res.body?.cancel();
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get("etag") ?? "", /^"[\w.-]+"$/, path);
        assert.equal(
          res.headers.get("cache-control"),
          "public, max-age=60, stale-while-revalidate=300",
          path,
        );
        assert.equal(res.headers.get("vary"), "API-Version, Accept-Version", path);
      }
    });

    await t.step(
      "revalidate to 304 without a body, keeping the caching and CORS headers",
      async () => {
        const first = await get(`/v2/categories/${category}/products?limit=5`);
        const tag = first.headers.get("etag")!;
        assert.equal(first.status, 200);
        assert.equal((await first.json()).data.length, 1);
        const again = await get(`/v2/categories/${category}/products?limit=5`, {
          "if-none-match": `"other", ${tag}`,
        });
        assert.equal(again.status, 304);
        assert.equal(await again.text(), "");
        assert.equal(again.headers.get("etag"), tag);
        assert.equal(
          again.headers.get("cache-control"),
          "public, max-age=60, stale-while-revalidate=300",
        );
        assert.equal(again.headers.get("vary"), "API-Version, Accept-Version");
        assert.equal(again.headers.get("api-version"), "v2");
        assert.equal(again.headers.get("access-control-allow-origin"), "*");
        assert.ok(again.headers.get("x-request-id"));
        assert.equal(again.headers.get("x-content-type-options"), "nosniff");
      },
    );

    await t.step("are documented with their 304 in the OpenAPI document", async () => {
      const doc = await (await get("/openapi.json")).json();
      assert.ok(doc.paths["/api/v2/categories"].get.responses["304"]);
      assert.ok(doc.paths["/api/v2/products/{id}"].get.responses["304"]);
      assert.equal(doc.paths["/api/v2/orders"].get.responses["304"], undefined);
      assert.equal(doc.paths["/api/v2/inventory"].get.responses["304"], undefined);
    });

    await t.step("get a new ETag once the data changes", async () => {
      const before = await get(`/v2/products/${product.id}`);
      await before.body?.cancel();
      await ctx
        .sql`update public.inventory set on_hand = on_hand + 1 where product_id = ${product.id}`;
      const after = await get(`/v2/products/${product.id}`, {
        "if-none-match": before.headers.get("etag")!,
      });
      assert.equal(after.status, 200);
      assert.equal((await after.json()).available, 6);
      assert.notEqual(after.headers.get("etag"), before.headers.get("etag"));
    });

    await t.step(
      "revalidate the category listing until a category or its products change",
      async () => {
        const first = await get("/v2/categories");
        const etag = first.headers.get("etag")!;
        await first.body?.cancel();
        const same = await get("/v2/categories", { "if-none-match": etag });
        assert.equal(same.status, 304);
        assert.equal(
          same.headers.get("cache-control"),
          "public, max-age=60, stale-while-revalidate=300",
        );
        await same.body?.cancel();
        await createProduct(ctx.sql, {
          sku: `${ctx.tag.toUpperCase()}-C2`,
          name: `${ctx.tag} teapot`,
          price_cents: 99_00,
          category_id: category,
          on_hand: 1,
        });
        const changed = await get("/v2/categories", { "if-none-match": etag });
        assert.equal(changed.status, 200);
        assert.notEqual(changed.headers.get("etag"), etag);
        const mine = (await changed.json()).data.find((c: { id: number }) => c.id === category);
        assert.equal(mine.product_count, 2);
        const slug = `${ctx.tag}-added`;
        await createCategory(ctx.sql, slug);
        const added = await get("/v2/categories", {
          "if-none-match": changed.headers.get("etag")!,
        });
        assert.equal(added.status, 200);
        assert.ok((await added.json()).data.some((c: { slug: string }) => c.slug === slug));
      },
    );

    await t.step("are told apart by version: the version is in Vary and in the ETag", async () => {
      const v1 = await get("/categories", { "api-version": "1" });
      const v2 = await get("/categories", { "api-version": "2" });
      await v1.body?.cancel();
      await v2.body?.cancel();
      assert.equal(v1.headers.get("api-version"), "v1");
      assert.equal(v2.headers.get("api-version"), "v2");
      assert.notEqual(v1.headers.get("etag"), v2.headers.get("etag"));
    });
  } finally {
    await ctx.stop();
  }
});

Deno.test("signed-in, admin and stock answers are never cacheable", async () => {
  ctx = await setUp();
  try {
    const orders = await call(ctx.alice.client, "api/v2/orders", {
      headers: { "if-none-match": "*" },
    });
    assert.equal(orders.status, 200);
    assert.equal(orders.headers.get("cache-control"), "no-store");
    assert.equal(orders.headers.get("etag"), null);
    const dashboard = await call(ctx.admin.client, "api/v2/dashboard/sales?days=7");
    assert.equal(dashboard.status, 200);
    assert.equal(dashboard.headers.get("cache-control"), "no-store");
    assert.equal(dashboard.headers.get("etag"), null);
    const stock = await get("/v2/inventory?product_ids=1", { "if-none-match": "*" });
    await stock.body?.cancel();
    assert.equal(stock.status, 200);
    assert.equal(stock.headers.get("cache-control"), "no-store");
    assert.equal(stock.headers.get("etag"), null);
    // A refusal is not cached either.
    const bad = await get("/v2/products?limit=0");
    await bad.body?.cancel();
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("cache-control"), "no-store");
    assert.equal(bad.headers.get("etag"), null);
  } finally {
    await ctx.stop();
  }
});
