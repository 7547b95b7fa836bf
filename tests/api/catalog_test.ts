import assert from "node:assert/strict";
import { call, createCategory, createProduct, setUp } from "./_fixtures.ts";

Deno.test("api catalog: search, detail, categories, inventory, pagination and versions", async (t) => {
  const ctx = await setUp();
  const { sql, anon, tag } = ctx;
  try {
    const upper = tag.toUpperCase();
    const root = await createCategory(sql, `${tag}-root`);
    const child = await createCategory(sql, `${tag}-child`, root);
    const word = `zq${tag}`; // a token no generated product contains
    const cheap = await createProduct(sql, {
      sku: `${upper}-1`,
      name: `${word} lamp`,
      price_cents: 1500,
      category_id: root,
      on_hand: 4,
    });
    const mid = await createProduct(sql, {
      sku: `${upper}-2`,
      name: `${word} chair`,
      price_cents: 4500,
      category_id: child,
      on_hand: 0,
    });
    const dear = await createProduct(sql, {
      sku: `${upper}-3`,
      name: `${word} table`,
      price_cents: 9900,
      category_id: child,
      on_hand: 7,
    });
    const hidden = await createProduct(sql, {
      sku: `${upper}-4`,
      name: `${word} retired`,
      price_cents: 100,
      category_id: root,
      on_hand: 1,
      active: false,
    });

    await t.step("search finds the active products by text, ranked and filtered", async () => {
      const all = await call(anon, `api/v1/products?q=${word}&sort=price`);
      assert.equal(all.status, 200);
      assert.deepEqual(all.body.data.map((p: { id: number }) => p.id), [cheap.id, mid.id, dear.id]);
      assert.deepEqual(all.body.data[0], {
        id: cheap.id,
        sku: cheap.sku,
        name: cheap.name,
        price_cents: 1500,
        currency: "EUR",
        category_id: root,
        available: 4,
      });
      assert.equal(all.body.next_cursor, null);

      const inStock = await call(anon, `api/v1/products?q=${word}&in_stock=true&sort=-price`);
      assert.deepEqual(inStock.body.data.map((p: { id: number }) => p.id), [dear.id, cheap.id]);

      const range = await call(anon, `api/v1/products?q=${word}&min_price=2000&max_price=9900`);
      assert.deepEqual(
        range.body.data.map((p: { id: number }) => p.id).sort(),
        [mid.id, dear.id].sort(),
      );

      const inTree = await call(anon, `api/v1/products?category_id=${root}&sort=price`);
      assert.deepEqual(inTree.body.data.map((p: { id: number }) => p.id), [
        cheap.id,
        mid.id,
        dear.id,
      ]);
    });

    await t.step("keyset pagination walks every page once", async () => {
      const first = await call(anon, `api/v2/products?q=${word}&sort=name&limit=2`);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body.page.limit, 2);
      assert.equal(first.body.page.has_more, true);
      const second = await call(
        anon,
        `api/v2/products?q=${word}&sort=name&limit=2&cursor=${first.body.page.next_cursor}`,
      );
      assert.equal(second.body.page.has_more, false);
      assert.equal(second.body.page.next_cursor, null);
      const names = [...first.body.data, ...second.body.data].map((p: { name: string }) => p.name);
      assert.deepEqual(names, [`${word} chair`, `${word} lamp`, `${word} table`]);
      assert.deepEqual(first.body.data[0].price, { amount: 4500, currency: "EUR" });
      assert.equal("price_cents" in first.body.data[0], false);
    });

    await t.step("product detail answers active products only", async () => {
      const found = await call(anon, `api/v1/products/${dear.id}`);
      assert.equal(found.status, 200);
      assert.equal(found.body.description, `Test product ${dear.name}`);
      assert.deepEqual(found.body.category, {
        id: child,
        name: `${tag}-child`,
        slug: `${tag}-child`,
      });
      assert.equal(found.body.available, 7);
      const retired = await call(anon, `api/v1/products/${hidden.id}`);
      assert.equal(retired.status, 404);
      assert.equal(retired.headers.get("content-type"), "application/problem+json");
      assert.equal((await call(anon, "api/v1/products/999999999")).status, 404);
    });

    await t.step("categories carry live counts and price ranges", async () => {
      const res = await call(anon, "api/v1/categories");
      assert.equal(res.status, 200);
      const [expected] = await sql`
        select count(*)::int as n, min(price_cents)::int as lo, max(price_cents)::int as hi
        from public.products where active and category_id = ${child}`;
      const got = res.body.data.find((c: { id: number }) => c.id === child);
      assert.equal(got.product_count, expected.n);
      assert.equal(got.min_price_cents, expected.lo);
      assert.equal(got.max_price_cents, expected.hi);
      const v2 = await call(anon, "api/v2/categories");
      const got2 = v2.body.data.find((c: { id: number }) => c.id === child);
      assert.deepEqual(got2.price_range, { min: expected.lo, max: expected.hi });
    });

    await t.step("a category's products page, and 404 for an unknown category", async () => {
      const res = await call(anon, `api/v1/categories/${child}/products?sort=-price`);
      assert.deepEqual(res.body.data.map((p: { id: number }) => p.id), [dear.id, mid.id]);
      assert.equal((await call(anon, "api/v1/categories/999999999/products")).status, 404);
    });

    await t.step("inventory by ids and SKUs, fresh after a stock change", async () => {
      const byId = await call(anon, `api/v1/inventory?product_ids=${cheap.id},${dear.id}`);
      assert.equal(byId.status, 200);
      assert.deepEqual(
        byId.body.data.map((
          r: { product_id: number; available: number },
        ) => [r.product_id, r.available]),
        [[cheap.id, 4], [dear.id, 7]],
      );
      const bySku = await call(anon, `api/v1/inventory?skus=${dear.sku.toLowerCase()}`);
      assert.deepEqual(bySku.body.data.map((r: { sku: string }) => r.sku), [dear.sku]);
      await sql`update public.inventory set on_hand = 12 where product_id = ${dear.id}`;
      const after = await call(anon, `api/v1/inventory?skus=${dear.sku}`);
      assert.equal(after.body.data[0].on_hand, 12);
      assert.equal(after.body.data[0].available, 12);
      const retired = await call(anon, `api/v1/inventory?product_ids=${hidden.id}`);
      assert.deepEqual(retired.body.data, []);
    });

    await t.step("the version comes from path, headers or query, in that order", async () => {
      const header = await call(anon, `api/products?q=${word}`, {
        headers: { "api-version": "2" },
      });
      assert.equal(header.headers.get("api-version"), "v2");
      assert.ok("page" in header.body);
      const query = await call(anon, `api/products?q=${word}&api-version=2`);
      assert.equal(query.headers.get("api-version"), "v2");
      const pathWins = await call(anon, `api/v1/products?q=${word}`, {
        headers: { "api-version": "2" },
      });
      assert.equal(pathWins.headers.get("api-version"), "v1");
      assert.match(pathWins.headers.get("deprecation") ?? "", /^@\d+$/);
      assert.ok(pathWins.headers.get("sunset"));
      assert.match(
        pathWins.headers.get("link") ?? "",
        /<\/api\/v2\/products>; rel="successor-version"/,
      );
      const unknown = await call(anon, "api/v7/products");
      assert.equal(unknown.status, 400);
      assert.deepEqual(unknown.body.supported_versions, ["v1", "v2"]);
    });
  } finally {
    await ctx.stop();
  }
});
