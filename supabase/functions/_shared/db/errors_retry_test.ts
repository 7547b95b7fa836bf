import assert from "node:assert/strict";
import { createDb, type Sql } from "./client.ts";
import { withDbErrors } from "./errors.ts";
import { ProblemError } from "../http/problem.ts";
import { metricsPipeline } from "../metrics/pipeline.ts";

function testUrl(): string {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the suite with `deno task test`");
  return url;
}

/** The value of `comptoir_retries_total` for `labels` in what the isolate has not flushed yet. */
function retriesOf(outcome: string): number {
  const key = `dependency="postgres",outcome="${outcome}"`;
  return metricsPipeline().registry.drain()
    .filter((s) => s.name === "comptoir_retries_total" && s.labels === key)
    .reduce((sum, s) => sum + s.value, 0);
}

/**
 * Terminates, once, the backend running a statement that contains `marker`, as soon as it is
 * running: the client has no result yet. Resolves with the pid terminated.
 */
async function terminateOnce(admin: Sql, marker: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const [row] = await admin`
      select pid from pg_stat_activity
      where state = 'active' and pid <> pg_backend_pid()
        and query like ${"%" + marker + "%"} and query not like '%pg_stat_activity%'
      limit 1`;
    if (row) {
      await admin`select pg_terminate_backend(${row.pid})`;
      return row.pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no backend ran ${marker} within 10 s`);
}

Deno.test("withDbErrors() retries a read whose backend is terminated before its first result", async () => {
  const sql = createDb({ url: testUrl(), max: 1 });
  const admin = createDb({ url: testUrl(), max: 1 });
  const marker = `retry_read_${crypto.randomUUID().replaceAll("-", "")}`;
  retriesOf("recovered");
  try {
    let attempts = 0;
    const terminated = terminateOnce(admin, marker);
    const rows = await withDbErrors(async () => {
      attempts++;
      return await sql.unsafe(
        `select pg_sleep(0.5), '${marker}' as marker, pg_backend_pid() as pid`,
      );
    }, { idempotent: true });
    const killed = await terminated;
    // postgres.js 3.4.9 may report the termination twice (CONNECTION_CLOSED, then the server's
    // 57P01 on the next attempt), so the read may take a third attempt.
    assert.ok(attempts === 2 || attempts === 3, `${attempts} attempts`);
    assert.equal(rows[0].marker, marker);
    assert.notEqual(rows[0].pid, killed, "the answer came from a new connection");
    assert.equal(retriesOf("recovered"), attempts - 1);
  } finally {
    await sql.end();
    await admin.end();
  }
});

Deno.test("withDbErrors() does not retry a write whose backend is terminated", async () => {
  const sql = createDb({ url: testUrl(), max: 1 });
  const admin = createDb({ url: testUrl(), max: 1 });
  const table = `retry_write_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  retriesOf("failed");
  await admin.unsafe(`create table public.${table} (v int)`);
  try {
    let attempts = 0;
    const terminated = terminateOnce(admin, table);
    await assert.rejects(
      withDbErrors(async () => {
        attempts++;
        return await sql.unsafe(`insert into public.${table} select 1 from pg_sleep(0.5)`);
      }),
      (err: unknown) => err instanceof ProblemError && err.problem.status === 503,
    );
    await terminated;
    assert.equal(attempts, 1);
    const [{ n }] = await admin.unsafe(`select count(*)::int as n from public.${table}`);
    assert.equal(n, 0, "the terminated insert was rolled back and never repeated");
    assert.equal(retriesOf("failed"), 0);
    assert.equal(retriesOf("recovered"), 0);
    // The pool serves the next read.
    const [{ ok }] = await withDbErrors(() => sql`select true as ok`, { idempotent: true });
    assert.equal(ok, true);
  } finally {
    await admin.unsafe(`drop table if exists public.${table}`);
    await sql.end();
    await admin.end();
  }
});

Deno.test("withDbErrors() does not retry a read that fails for good", async () => {
  const sql = createDb({ url: testUrl(), max: 1 });
  try {
    let attempts = 0;
    await assert.rejects(
      withDbErrors(async () => {
        attempts++;
        return await sql`select 1 / 0`;
      }, { idempotent: true }),
      (err: unknown) => err instanceof ProblemError && err.problem.status === 400,
    );
    assert.equal(attempts, 1);
  } finally {
    await sql.end();
  }
});
