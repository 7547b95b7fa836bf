import assert from "node:assert/strict";
import postgres from "postgres";
import { openPGlite } from "./pglite.ts";
import { PGliteSessionServer } from "./pglite_session_server.ts";

/** Two clients of one session server on a fresh PGlite. */
async function withClients(
  fn: (a: postgres.Sql, b: postgres.Sql) => Promise<void>,
  options: { idleInTransactionTimeoutMs?: number } = {},
) {
  const db = await openPGlite();
  const server = new PGliteSessionServer({ db, port: 0, ...options });
  const url = `postgresql://postgres:postgres@127.0.0.1:${await server.start()}/postgres`;
  const a = postgres(url, { max: 1, onnotice: () => {} });
  const b = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await fn(a, b);
  } finally {
    await a.end({ timeout: 1 });
    await b.end({ timeout: 1 });
    await server.stop();
    await db.close();
  }
}

Deno.test("PGliteSessionServer keeps each client's settings to itself", async () => {
  await withClients(async (a, b) => {
    await a`set search_path = pg_catalog`;
    await a`set application_name = 'client-a'`;
    const [seenByB] = await b`select current_setting('search_path') as path`;
    assert.equal(seenByB.path, "public");
    const [seenByA] = await a`select current_setting('search_path') as path,
        current_setting('application_name') as app`;
    assert.deepEqual({ ...seenByA }, { path: "pg_catalog", app: "client-a" });
  });
});

Deno.test("PGliteSessionServer runs another client's query only after a transaction ends", async () => {
  await withClients(async (a, b) => {
    await a`create table t (n int)`;
    const order: string[] = [];
    const tx = a.begin(async (sql) => {
      await sql`insert into t values (1)`;
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sql`insert into t values (2)`;
      order.push("a committed");
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const read = b`select count(*)::int as n from t`.then(([row]) => {
      order.push(`b read ${row.n}`);
    });
    await Promise.all([tx, read]);
    assert.deepEqual(order, ["a committed", "b read 2"]);
  });
});

Deno.test("PGliteSessionServer disconnects a client idle in a transaction while others wait", async () => {
  await withClients(async (a, b) => {
    const reserved = await a.reserve();
    await reserved`begin`;
    await reserved`create table forgotten (n int)`;
    // a never commits: b waits, then gets the session once a is disconnected and rolled back.
    const [row] = await b`select to_regclass('forgotten') is null as gone`;
    assert.equal(row.gone, true);
    await assert.rejects(reserved`select 1`);
    reserved.release();
  }, { idleInTransactionTimeoutMs: 300 });
});
