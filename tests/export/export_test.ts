import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import postgres from "postgres";
import { call, createCategory, createProduct, setUp } from "../api/_fixtures.ts";

type Sql = postgres.Sql;

const PATH = "/functions/v1/export";

/** The export policy's hourly limit in this test (the default, 20, is too few for its steps). */
const RATE_LIMIT = 300;

/** Inserts `n` orders of `customer` straight into the table (fixtures, not the API). */
async function insertOrders(sql: Sql, customer: string, n: number, status = "paid") {
  await sql`
    insert into public.customers (id, email, full_name)
    select id, email, '' from auth.users where id = ${customer}
    on conflict (id) do nothing`;
  await sql`
    insert into public.orders (customer_id, status, currency, subtotal_cents, shipping_cents,
                               total_cents, item_count, placed_at)
    select ${customer}, ${status}::public.order_status, 'EUR', 1000 + g, 490, 1490 + g, 1 + g % 5,
           timestamptz '2026-03-01 00:00:00+00' + g * interval '1 minute'
    from generate_series(1, ${n}::int) g`;
}

/** Order-independent checksum and count of rows `id|status|total_cents|placed_at(epoch ms)`. */
async function digest(rows: string[]): Promise<{ count: number; sum: bigint }> {
  let sum = 0n;
  for (const row of rows) {
    const hash = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(row)),
    );
    sum += new DataView(hash.buffer).getBigUint64(0);
  }
  return { count: rows.length, sum: sum % (1n << 64n) };
}

async function expected(sql: Sql, customer: string, exclude: number[] = []) {
  const rows = await sql`
    select id, status::text, total_cents, placed_at from public.orders
    where customer_id = ${customer} and not (id = any(${exclude}::bigint[]))`;
  return await digest(
    rows.map((r) => `${r.id}|${r.status}|${r.total_cents}|${new Date(r.placed_at).getTime()}`),
  );
}

function csvKeys(text: string): string[] {
  const records = parse(text, { columns: true, bom: true }) as Record<string, string>[];
  return records.map((r) =>
    `${r.id}|${r.status}|${r.total_cents}|${new Date(r.placed_at).getTime()}`
  );
}

async function get(base: string, token: string, path: string, headers: HeadersInit = {}) {
  return await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
}

/** Follows `Link: rel="next"` from `path`, returning every page's body. */
async function allPages(base: string, token: string, path: string, between?: () => Promise<void>) {
  const pages: string[] = [];
  let next: string | undefined = path;
  while (next) {
    const res = await get(base, token, next);
    assert.equal(res.status, 200, await res.clone().text());
    pages.push(await res.text());
    next = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1]?.replace(
      /^\/functions\/v1\/export/,
      PATH,
    );
    if (next && between) await between();
  }
  return pages;
}

/**
 * A client that sends the request, reads the status line and stops reading: Postgres soon blocks
 * on full socket buffers (fetch() would keep buffering the body). `close()` drops the connection.
 */
async function stalledClient(base: string, token: string, path: string) {
  const url = new URL(base);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  await conn.write(new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${token}\r\n\r\n`,
  ));
  const buffer = new Uint8Array(1024);
  const n = await conn.read(buffer);
  const status = Number(
    /^HTTP\/1\.1 (\d{3})/.exec(new TextDecoder().decode(buffer.subarray(0, n!)))?.[1],
  );
  return { status, close: () => conn.close() };
}

async function activeCopies(sql: Sql): Promise<number> {
  const [row] = await sql`
    select count(*)::int as n from pg_stat_activity
    where application_name = 'comptoir-functions' and query ilike 'copy (%' and state = 'active'`;
  return row.n;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return performance.now() - started;
}

Deno.test("export: rows, formats, snapshot, pages, ownership, cancellation and bad input", async (t) => {
  const ctx = await setUp({
    env: { COMPTOIR_RATE_LIMITS: JSON.stringify({ export: { limit: RATE_LIMIT } }) },
  });
  const { sql, alice, bob, admin, tag, server } = ctx;
  const base = server.url;
  const serviceKey = server.serviceRoleKey;
  try {
    await insertOrders(sql, alice.id, 7);
    await insertOrders(sql, bob.id, 3, "shipped");

    await t.step("an admin's CSV equals a direct query (count and checksum)", async () => {
      const res = await get(base, admin.token, `${PATH}/orders?customer_id=${alice.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8; header=present");
      assert.match(
        res.headers.get("content-disposition")!,
        /^attachment; filename="orders-\d{8}T\d{6}Z\.csv"$/,
      );
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.equal(res.headers.get("x-export-rows"), "7");
      assert.equal(res.headers.get("link"), null);
      const text = await res.text();
      assert.ok(text.startsWith("id,customer_id,status,currency,"));
      assert.deepEqual(await digest(csvKeys(text)), await expected(sql, alice.id));
    });

    await t.step("JSON Lines and JSON give the same rows; gzip when accepted", async () => {
      const jsonl = await get(base, admin.token, `${PATH}/orders?customer_id=${alice.id}`, {
        accept: "application/x-ndjson",
      });
      assert.equal(jsonl.headers.get("content-type"), "application/jsonl; charset=utf-8");
      const lines = (await jsonl.text()).trimEnd().split("\n").map((l) => JSON.parse(l));
      const keys = (
        rows: { id: number; status: string; total_cents: number; placed_at: string }[],
      ) =>
        rows.map((r) => `${r.id}|${r.status}|${r.total_cents}|${new Date(r.placed_at).getTime()}`);
      assert.deepEqual(await digest(keys(lines)), await expected(sql, alice.id));

      const json = await get(
        base,
        admin.token,
        `${PATH}/orders?customer_id=${alice.id}&format=json`,
      );
      assert.equal(json.headers.get("content-type"), "application/json; charset=utf-8");
      assert.deepEqual(await json.json(), lines);

      const empty = await get(base, admin.token, `${PATH}/orders?format=json&from=2099-01-01`);
      assert.deepEqual(await empty.json(), []);

      const gz = await get(base, admin.token, `${PATH}/orders?customer_id=${alice.id}`, {
        "accept-encoding": "gzip",
      });
      assert.equal(gz.headers.get("content-encoding"), "gzip");
      // fetch() undoes the gzip itself.
      const plain = await gz.text();
      assert.deepEqual(await digest(csvKeys(plain)), await expected(sql, alice.id));
    });

    await t.step("quoting, formulas, unicode; ';' and BOM for Excel", async () => {
      const cat = await createCategory(sql, `${tag}-export`);
      const tricky = [
        '=HYPERLINK("http://evil.example","click")',
        "+33 1 23 45 67 89",
        "-2+3",
        "@SUM(A1:A2)",
        "\tTabbed",
        "a, b; c",
        'He said "hi"',
        "two\nlines",
        "Café 漢字 🍵",
      ];
      const ids: number[] = [];
      for (const [i, name] of tricky.entries()) {
        const p = await createProduct(sql, {
          sku: `${tag.toUpperCase()}-Q${i}`,
          name,
          price_cents: 100 + i,
          category_id: cat,
          on_hand: 1,
        });
        ids.push(p.id);
      }
      for (const delimiter of [",", ";"]) {
        const res = await get(
          base,
          serviceKey,
          `${PATH}/products?delimiter=${encodeURIComponent(delimiter)}&bom=true`,
        );
        const bytes = new Uint8Array(await res.arrayBuffer());
        assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
        const text = new TextDecoder().decode(bytes);
        // TextDecoder drops the BOM.
        assert.ok(text.startsWith(["id", "sku", "name"].join(delimiter)));
        const records = parse(text, { columns: true, bom: true, delimiter }) as Record<
          string,
          string
        >[];
        const byId = new Map(records.map((r) => [Number(r.id), r]));
        const names = ids.map((id) => byId.get(id)!.name);
        assert.deepEqual(names, [
          `'=HYPERLINK("http://evil.example","click")`,
          "'+33 1 23 45 67 89",
          "'-2+3",
          "'@SUM(A1:A2)",
          "'\tTabbed",
          "a, b; c",
          'He said "hi"',
          "two\nlines",
          "Café 漢字 🍵",
        ]);
        // Numbers are never touched, negative ones included.
        assert.equal(byId.get(ids[0])!.price_cents, "100");
      }
      // JSON keeps the values as they are.
      const json = await (await get(base, serviceKey, `${PATH}/products?format=json`)).json();
      const names = new Map(json.map((p: { id: number; name: string }) => [p.id, p.name]));
      assert.deepEqual(ids.map((id) => names.get(id)), tricky);
    });

    await t.step("orders placed during an export stay out of it", async () => {
      const cat = await createCategory(sql, `${tag}-snap`);
      const mug = await createProduct(sql, {
        sku: `${tag.toUpperCase()}-SNAP`,
        name: "Mug",
        price_cents: 900,
        category_id: cat,
        on_hand: 1000,
      });
      const before = await expected(sql, alice.id);
      const res = await get(base, alice.token, `${PATH}/orders`);
      assert.equal(res.status, 200);
      // Headers are out: the snapshot is taken. Orders placed now must not appear in the body.
      const placed: number[] = [];
      for (let i = 0; i < 3; i++) {
        const order = await call(alice.client, "api/v1/orders", {
          method: "POST",
          body: { items: [{ product_id: mug.id, quantity: 1 }] },
        });
        assert.equal(order.status, 201);
        placed.push(order.body.id);
      }
      assert.deepEqual(await digest(csvKeys(await res.text())), before);
      assert.deepEqual(await expected(sql, alice.id, placed), before);

      // Across pages too: pages of 2, orders placed between pages are not exported.
      const during: number[] = [];
      const pages = await allPages(base, alice.token, `${PATH}/orders?page_size=2`, async () => {
        const order = await call(alice.client, "api/v1/orders", {
          method: "POST",
          body: { items: [{ product_id: mug.id, quantity: 1 }] },
        });
        during.push(order.body.id);
      });
      const rows = pages.flatMap(csvKeys);
      assert.equal(pages.length, Math.ceil((7 + 3) / 2));
      assert.equal(new Set(rows).size, rows.length, "no row twice");
      assert.deepEqual(await digest(rows), await expected(sql, alice.id, during));
    });

    await t.step("continuation pages join without loss or duplicates (composite key)", async () => {
      const whole = await (await get(
        base,
        serviceKey,
        `${PATH}/order_lines?format=jsonl&customer_id=${alice.id}`,
      )).text();
      const pages = await allPages(
        base,
        serviceKey,
        `${PATH}/order_lines?format=jsonl&page_size=3&customer_id=${alice.id}`,
      );
      assert.ok(pages.length > 1);
      assert.equal(pages.join(""), whole);
    });

    await t.step("a customer exports only their own orders", async () => {
      // supabase-js, as a storefront would call it.
      const mine = await alice.client.functions.invoke("export/orders?format=json", {
        method: "GET",
      });
      assert.equal(mine.error, null);
      const rows = mine.data as { customer_id: string }[];
      assert.ok(rows.length >= 7);
      assert.ok(rows.every((r) => r.customer_id === alice.id));

      const lines = await (await get(base, bob.token, `${PATH}/order_lines?format=json`)).json();
      const [{ n }] = await sql`
        select count(*)::int as n from public.order_items i join public.orders o on o.id = i.order_id
        where o.customer_id = ${bob.id}`;
      assert.equal(lines.length, n);

      const other = await get(base, alice.token, `${PATH}/orders?customer_id=${bob.id}`);
      assert.equal(other.status, 403);
      assert.equal(other.headers.get("content-type"), "application/problem+json");
      for (const resource of ["products", "inventory", "customers", "sales_daily"]) {
        const res = await get(base, alice.token, `${PATH}/${resource}`);
        assert.equal(res.status, 403, resource);
        await res.body?.cancel();
      }
      const anon = await get(base, server.anonKey, `${PATH}/orders`);
      assert.equal(anon.status, 401);
      await anon.body?.cancel();

      // A token made for Bob's export does not open Alice's next page.
      const bobPage = await get(base, bob.token, `${PATH}/orders?page_size=1`);
      const link = /<([^>]+)>/.exec(bobPage.headers.get("link")!)![1];
      await bobPage.body?.cancel();
      const stolen = await get(base, alice.token, link);
      assert.equal(stolen.status, 400);
      assert.match((await stolen.json()).detail, /another export/);
    });

    await t.step("bad parameters are 400 problem+json before any byte", async () => {
      const cases: [string, number, Record<string, string>?][] = [
        ["/nope", 400],
        ["/orders?from=yesterday", 400],
        ["/orders?from=2026-13-01", 400],
        ["/orders?from=2026-02-01&to=2026-01-01", 400],
        ["/orders?format=xml", 400],
        ["/orders?status=lost", 400],
        ["/orders?delimiter=|", 400],
        ["/orders?page_size=0", 400],
        ["/orders?colour=red", 400],
        ["/products?status=paid", 400],
        ["/orders?cursor=abc", 400],
        [`/orders?cursor=${"a".repeat(40)}.${"b".repeat(43)}`, 400],
        ["/orders", 406, { accept: "application/xml" }],
      ];
      for (const [path, status, headers] of cases) {
        const res = await get(base, serviceKey, `${PATH}${path}`, headers);
        assert.equal(res.status, status, path);
        assert.equal(res.headers.get("content-type"), "application/problem+json", path);
        await res.json();
      }
      // A cursor edited by the client is refused.
      const page = await get(base, serviceKey, `${PATH}/orders?page_size=1`);
      await page.body?.cancel();
      const link = /<([^>]+)>/.exec(page.headers.get("link")!)![1];
      const [path, token] = link.split("cursor=");
      const [body, signature] = token.split(".");
      const forged = btoa(
        atob(body.replaceAll("-", "+").replaceAll("_", "/")).replace('"a":["1"]', '"a":["0"]'),
      ).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
      const res = await get(base, serviceKey, `${path}cursor=${forged}.${signature}`);
      assert.equal(res.status, 400);
      assert.equal((await res.json()).detail, "Malformed cursor");
      // Another filter with the same cursor is another export.
      const moved = await get(base, serviceKey, `${link}&status=paid`);
      assert.equal(moved.status, 400);
      await moved.body?.cancel();
    });

    await t.step("a client that goes away frees its connection within a second", async () => {
      const big = crypto.randomUUID();
      await sql`
        insert into auth.users (id, aud, role, email) values
        (${big}, 'authenticated', 'authenticated', ${`big.${tag}@example.com`})`;
      await insertOrders(sql, big, 200_000);
      try {
        // Cancel the body after the first chunk.
        const res = await get(base, serviceKey, `${PATH}/orders?customer_id=${big}`);
        const reader = res.body!.getReader();
        await reader.read();
        assert.equal(await activeCopies(sql), 1);
        await reader.cancel();
        await waitFor(async () => (await activeCopies(sql)) === 0, 1000);

        // Drop the connection while Postgres is blocked on a full socket.
        const stalled = await stalledClient(base, serviceKey, `${PATH}/orders?customer_id=${big}`);
        assert.equal(stalled.status, 200);
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(await activeCopies(sql), 1, "a slow client holds the COPY, not the isolate");
        stalled.close();
        await waitFor(async () => (await activeCopies(sql)) === 0, 1000);

        // Two exports at once per caller; a third waits its turn with 429.
        const held = [
          await stalledClient(base, admin.token, `${PATH}/orders?customer_id=${big}`),
          await stalledClient(base, admin.token, `${PATH}/orders?customer_id=${big}`),
        ];
        assert.deepEqual(held.map((r) => r.status), [200, 200]);
        const third = await get(base, admin.token, `${PATH}/orders?customer_id=${alice.id}`);
        assert.equal(third.status, 429);
        assert.equal((await third.json()).type, "https://comptoir.dev/problems/too-many-exports");
        const others = await get(base, bob.token, `${PATH}/orders`);
        assert.equal(others.status, 200, "another caller is not held back");
        await others.text();
        // A dropped connection frees its slot.
        held[0].close();
        await waitFor(async () => (await activeCopies(sql)) === 1, 1000);
        const fourth = await get(base, admin.token, `${PATH}/orders?customer_id=${alice.id}`);
        assert.equal(fourth.status, 200);
        await fourth.text();
        held[1].close();
        await waitFor(async () => (await activeCopies(sql)) === 0, 1000);

        // The database killing the query mid-stream cuts the transfer; the next export works.
        const res3 = await get(base, serviceKey, `${PATH}/orders?customer_id=${big}`);
        const reader3 = res3.body!.getReader();
        await reader3.read();
        await sql`
          select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'comptoir-functions' and query ilike 'copy (%'`;
        // No read pending while the connection drops: the error must not escape the server.
        await new Promise((r) => setTimeout(r, 300));
        await assert.rejects(async () => {
          while (!(await reader3.read()).done) { /* drain */ }
        });
        const after = await get(base, serviceKey, `${PATH}/orders?customer_id=${alice.id}`);
        assert.equal(after.status, 200);
        assert.ok((await after.text()).startsWith("id,"));
      } finally {
        await sql`delete from public.orders where customer_id = ${big}`;
      }
    });

    await t.step("the service role exports every resource", async () => {
      for (const resource of ["products", "inventory", "customers", "sales_daily", "audit"]) {
        const res = await get(base, serviceKey, `${PATH}/${resource}?format=jsonl&page_size=1000`);
        assert.equal(res.status, 200, resource);
        const text = await res.text();
        for (const line of text.trimEnd().split("\n").filter(Boolean)) JSON.parse(line);
      }
      const listed = await (await get(base, serviceKey, PATH)).json();
      assert.deepEqual(listed.data.map((r: { name: string }) => r.name), [
        "orders",
        "order_lines",
        "products",
        "inventory",
        "customers",
        "sales_daily",
        "audit",
      ]);
    });

    await t.step("each export is an audit event; admins export the trail", async () => {
      // The admin's first export (Alice's 7 orders as CSV) was recorded with its filters and rows.
      await waitFor(async () => {
        const [row] = await sql`
          select count(*)::int as n from audit.record_version
          where action = 'export.created' and target = 'orders' and auth_uid = ${admin.id}
            and details @> ${
          sql.json({ format: "csv", rows: 7, filters: { customer_id: alice.id } })
        }`;
        return row.n >= 1;
      }, 5000);
      const res = await get(base, admin.token, `${PATH}/audit?format=jsonl&from=2026-01-01`);
      assert.equal(res.status, 200);
      const events = (await res.text()).trimEnd().split("\n").map((l) => JSON.parse(l));
      const mine = events.filter((e) => e.action === "export.created" && e.auth_uid === alice.id);
      const [{ n }] = await sql`
        select count(*)::int as n from audit.record_version
        where action = 'export.created' and auth_uid = ${alice.id} and id <= ${events.at(-1).id}`;
      assert.equal(mine.length, n);
      assert.ok(mine.length > 0);
      assert.ok(mine.every((e) => typeof e.details === "object" && e.target !== null));
      const refused = await get(base, alice.token, `${PATH}/audit`);
      assert.equal(refused.status, 403);
      await refused.body?.cancel();
    });

    await t.step("the export rate limit answers 429 with Retry-After", async () => {
      let status = 200;
      let calls = 0;
      let last: Response | undefined;
      while (status !== 429 && calls <= RATE_LIMIT) {
        last = await get(base, bob.token, `${PATH}/orders?format=jsonl`);
        status = last.status;
        calls++;
        await last.body?.cancel();
      }
      assert.equal(status, 429);
      assert.ok(last!.headers.get("retry-after"));
    });
  } finally {
    await ctx.stop();
  }
});
