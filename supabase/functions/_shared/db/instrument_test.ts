import assert from "node:assert/strict";
import { createDb } from "./client.ts";
import { instrumentDb } from "./instrument.ts";
import { disableTestFaults, enableTestFaults, withDbSleep } from "../metrics/fault_switch.ts";

function testUrl(): string {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the suite with `deno task test`");
  return url;
}

interface Recorded {
  queries: { operation: string; seconds: number; sqlstateClass?: string }[];
  pool: { inUse: number; max: number; waiting: number }[];
}

function recorder(): Recorded & {
  onQuery: (operation: string, seconds: number, sqlstateClass?: string) => void;
  onPool: (inUse: number, max: number, waiting: number) => void;
} {
  const queries: Recorded["queries"] = [];
  const pool: Recorded["pool"] = [];
  return {
    queries,
    pool,
    onQuery: (operation, seconds, sqlstateClass) =>
      queries.push({ operation, seconds, sqlstateClass }),
    onPool: (inUse, max, waiting) => pool.push({ inUse, max, waiting }),
  };
}

Deno.test("instrumentDb() observes statements by operation and failures by SQLSTATE class", async () => {
  const raw = createDb({ url: testUrl(), max: 2 });
  const rec = recorder();
  const sql = instrumentDb(raw, { max: 2, onQuery: rec.onQuery, onPool: rec.onPool });
  try {
    const [row] = await sql`select ${41}::int + 1 as answer`;
    assert.equal(row.answer, 42);
    await sql`with x as (select 1 as a) select a from x`.execute();
    await sql.unsafe("select 2");
    await assert.rejects(sql`select 1 / 0`, (err: { code?: string }) => err.code === "22012");
    const id = sql`id`; // a fragment is never run on its own
    await sql`select 1 as ${id}`;
    assert.deepEqual(rec.queries.map((q) => [q.operation, q.sqlstateClass]), [
      ["select", undefined],
      ["select", undefined],
      ["select", undefined],
      ["select", "22"],
      ["select", undefined],
    ]);
    assert.ok(rec.queries.every((q) => q.seconds >= 0 && q.seconds < 60));
    assert.deepEqual(rec.pool.at(-1), { inUse: 0, max: 2, waiting: 0 });
  } finally {
    await raw.end();
  }
});

Deno.test("instrumentDb() observes a transaction once, its statements, and the connection it holds", async () => {
  const raw = createDb({ url: testUrl(), max: 2 });
  const rec = recorder();
  const sql = instrumentDb(raw, { max: 2, onQuery: rec.onQuery, onPool: rec.onPool });
  try {
    const value = await sql.begin(async (tx) => {
      await tx`select set_config('comptoir.test', 'x', true)`;
      const [{ v }] = await tx`select current_setting('comptoir.test') as v`;
      return v;
    });
    assert.equal(value, "x");
    assert.deepEqual(rec.queries.map((q) => q.operation), ["select", "select", "transaction"]);
    // The transaction took one connection; its statements took none of their own.
    assert.deepEqual(rec.pool.map((p) => p.inUse), [0, 1, 0]);
  } finally {
    await raw.end();
  }
});

Deno.test("instrumentDb() observes a batch once, as its last statement, on one connection", async () => {
  const raw = createDb({ url: testUrl(), max: 2 });
  const rec = recorder();
  const sql = instrumentDb(raw, { max: 2, onQuery: rec.onQuery, onPool: rec.onPool });
  try {
    const [, [{ v }]] = await sql.batch(
      [
        sql`select set_config('comptoir.test', 'y', true)`,
        sql`select current_setting('comptoir.test') as v`,
      ] as const,
    );
    assert.equal(v, "y");
    await sql.batch(
      [
        sql`select set_config('comptoir.test', 'z', true)`,
        sql`update public.categories set name = name where false`,
      ] as const,
    );
    assert.deepEqual(rec.queries.map((q) => q.operation), ["select", "update"]);
    assert.deepEqual(rec.pool.map((p) => p.inUse), [0, 1, 0, 1, 0]);
  } finally {
    await raw.end();
  }
});

Deno.test("instrumentDb() counts statements beyond the pool size as waiting", async () => {
  const raw = createDb({ url: testUrl(), max: 2 });
  const rec = recorder();
  const sql = instrumentDb(raw, { max: 2, onQuery: rec.onQuery, onPool: rec.onPool });
  try {
    await Promise.all([1, 2, 3, 4, 5].map(() => sql`select pg_sleep(0.05)`));
    const peak = rec.pool.reduce((a, b) => (b.inUse + b.waiting > a.inUse + a.waiting ? b : a));
    assert.deepEqual(peak, { inUse: 2, max: 2, waiting: 3 });
    assert.deepEqual(rec.pool.at(-1), { inUse: 0, max: 2, waiting: 0 });
  } finally {
    await raw.end();
  }
});

Deno.test("instrumentDb() runs the injected pg_sleep before each statement of a faulty request", async () => {
  const raw = createDb({ url: testUrl(), max: 1 });
  const rec = recorder();
  const sql = instrumentDb(raw, { max: 1, onQuery: rec.onQuery, onPool: rec.onPool });
  enableTestFaults();
  try {
    const activity = () =>
      raw`select count(*)::int as n from pg_stat_activity where query like '%pg_sleep(%' and state = 'active' and pid <> pg_backend_pid()`;
    const pending = withDbSleep(400, async () => {
      await sql`select 1`;
      await sql.begin((tx) => tx`select 2`);
    });
    await pending;
    assert.deepEqual(rec.queries.map((q) => q.operation), ["select", "select", "transaction"]);
    // Each statement waited for its injected sleep, and the transaction for its statement's.
    for (const q of rec.queries) assert.ok(q.seconds >= 0.4, `${q.operation} took ${q.seconds}`);
    // Outside the faulty request nothing sleeps.
    rec.queries.length = 0;
    await sql`select 3`;
    assert.ok(rec.queries[0].seconds < 0.4);
    assert.equal((await activity())[0].n, 0);
  } finally {
    disableTestFaults();
    await raw.end();
  }
});

Deno.test("instrumentDb() rejects a pool size that is not a positive integer", () => {
  const raw = createDb({ url: "postgres://u:p@127.0.0.1:1/db" });
  assert.throws(() => instrumentDb(raw, { max: 0 }), RangeError);
});
