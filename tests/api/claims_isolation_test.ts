/**
 * A user-scoped read never sees another user's claims on a reused pooled connection: many users'
 * requests interleaved over a pool of one connection, directly and through PgBouncer in
 * transaction mode (two server connections shared by two gateway processes), each answer holding
 * only the caller's own orders, and nothing of any caller left on the connection afterwards.
 * @module
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { freePort } from "../../scripts/lib/dev_stack.ts";
import { startPgBouncer } from "../../scripts/lib/pgbouncer.ts";
import { type DevServer, startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import { createCategory, createProduct } from "./_fixtures.ts";

const USERS = 12;
const ROUNDS = 8;

async function storm(servers: DevServer[], sql: postgres.Sql, tag: string): Promise<void> {
  const category = await createCategory(sql, `${tag}-cat`);
  const product = await createProduct(sql, {
    sku: `${tag.toUpperCase()}-SKU`,
    name: `${tag} mug`,
    price_cents: 900,
    category_id: category,
    on_hand: 10_000,
  });
  const users: { token: string; orders: number[] }[] = [];
  for (let i = 0; i < USERS; i++) {
    const id = crypto.randomUUID();
    await sql`insert into auth.users (id, aud, role, email)
              values (${id}, 'authenticated', 'authenticated', ${`${tag}-${i}@example.com`})`;
    users.push({ token: await servers[0].tokenFor({ id }), orders: [] });
  }
  const api = (i: number) => `${servers[i % servers.length].url}/functions/v1/api/v2`;
  // Each user places two orders, all at once.
  await Promise.all(users.flatMap((user, i) =>
    [0, 1].map(async (k) => {
      const res = await fetch(`${api(i + k)}/orders`, {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body: JSON.stringify({ items: [{ product_id: product.id, quantity: 1 }] }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      user.orders.push((await res.json()).id);
    })
  ));
  const everyOrder = users.flatMap((u) => u.orders);
  // Then every user reads their list and someone else's order, interleaved, many times over.
  const reads = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, user] of users.entries()) {
      reads.push((async () => {
        const res = await fetch(`${api(i + round)}/orders?limit=50`, {
          headers: { authorization: `Bearer ${user.token}` },
        });
        assert.equal(res.status, 200);
        const ids = (await res.json()).data.map((o: { id: number }) => o.id).sort();
        assert.deepEqual(ids, [...user.orders].sort(), "a user saw orders that are not theirs");
        const other = users[(i + 1 + round) % USERS].orders[0];
        const theirs = await fetch(`${api(i + round + 1)}/orders/${other}`, {
          headers: { authorization: `Bearer ${user.token}` },
        });
        await theirs.body?.cancel();
        assert.equal(theirs.status, 404, "a user read another user's order");
      })());
    }
  }
  await Promise.all(reads);
  assert.equal(new Set(everyOrder).size, USERS * 2);
}

async function assertNothingLeft(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    for (let i = 0; i < 5; i++) {
      const [row] = await sql`
        select current_user as role, current_setting('request.jwt.claims', true) as claims,
               current_setting('comptoir.request_id', true) as request_id`;
      assert.equal(row.role, "postgres");
      assert.ok(!row.claims, `claims left on the connection: ${row.claims}`);
      assert.ok(!row.request_id, `request id left on the connection: ${row.request_id}`);
    }
  } finally {
    await sql.end();
  }
}

Deno.test("user-scoped reads keep to their own claims on a pool of one connection", async () => {
  const url = testDatabaseUrl();
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const server = await startDevServer({ dbUrl: url, env: { COMPTOIR_DB_POOL_MAX: "1" } });
  try {
    await storm([server], sql, `iso${Date.now().toString(36)}`);
  } finally {
    await server.stop();
    await sql.end();
  }
});

Deno.test("user-scoped reads keep to their own claims through PgBouncer in transaction mode", async () => {
  const url = new URL(testDatabaseUrl());
  const pooler = await startPgBouncer({
    upstreamPort: Number(url.port),
    port: freePort(),
    // Two server connections: with one, the dev stack's start-up waits on itself (a client holds
    // the only server connection while the next one it needs queues behind it).
    poolSize: 2,
  });
  const sql = postgres(url.href, { max: 2, onnotice: () => {} });
  const servers: DevServer[] = [];
  try {
    // Two gateway processes, two client connections each, two server connections for all.
    for (let i = 0; i < 2; i++) {
      servers.push(
        await startDevServer({
          dbUrl: pooler.url(url.pathname.slice(1)),
          // PgBouncer 1.18 cannot follow pipelined Syncs (pgbouncer/pgbouncer#759).
          env: { COMPTOIR_DB_POOL_MAX: "2", COMPTOIR_DB_PIPELINE: "1" },
        }),
      );
    }
    await storm(servers, sql, `isp${Date.now().toString(36)}`);
    await assertNothingLeft(pooler.url(url.pathname.slice(1)));
  } finally {
    for (const server of servers) await server.stop();
    await sql.end();
    await pooler.stop();
  }
});
