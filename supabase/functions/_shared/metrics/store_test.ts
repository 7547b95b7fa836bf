import assert from "node:assert/strict";
import { createDb, type Sql } from "../db/client.ts";
import { PostgresMetricsStore } from "./store.ts";

/** Removes the series this file's tests wrote. */
async function forget(sql: Sql): Promise<void> {
  await sql`delete from metrics.samples where labels like ${'%route="/alerts/test-%'}`;
}

function testSql(max = 10): Sql {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the suite with `deno task test`");
  return createDb({ url, max, applicationName: "comptoir-metrics-test" });
}

/** A series of its own for each test, so tests sharing the database do not see each other. */
function uniqueRoute(): string {
  return `/alerts/test-${crypto.randomUUID()}`;
}

const counter = "comptoir_http_requests_total";

Deno.test("metrics.flush() adds concurrent increments of many isolates exactly", async () => {
  const sql = testSql(10);
  try {
    const store = new PostgresMetricsStore(() => sql);
    const labels = `function="alerts",route="${uniqueRoute()}",method="GET",status_class="2xx"`;
    const other = labels.replace("2xx", "5xx");
    const writers = 20;
    const flushes = 25;
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let i = 0; i < flushes; i++) {
          // Two series in both orders: flushes lock rows in key order, so this cannot deadlock.
          const batch = [
            { name: counter, labels, le: "", kind: "c" as const, value: 1 },
            { name: counter, labels: other, le: "", kind: "c" as const, value: 2 },
          ];
          await store.write(`isolate-${w}`, w % 2 ? batch : batch.reverse());
        }
      }),
    );
    const read = await store.read();
    assert.equal(read.find((s) => s.labels === labels)?.value, writers * flushes);
    assert.equal(read.find((s) => s.labels === other)?.value, 2 * writers * flushes);
  } finally {
    await forget(sql);
    await sql.end();
  }
});

Deno.test("metrics.read_samples() sums per-isolate gauges over fresh isolates only", async () => {
  const sql = testSql(2);
  try {
    const store = new PostgresMetricsStore(() => sql);
    const labels = `function="alerts"`;
    const name = "comptoir_http_requests_in_flight";
    const a = `iso-${crypto.randomUUID()}`;
    const b = `iso-${crypto.randomUUID()}`;
    await store.write(a, [{ name, labels, le: "", kind: "g", value: 3 }]);
    await store.write(b, [{ name, labels, le: "", kind: "g", value: 4 }]);
    await store.write(a, [{ name, labels, le: "", kind: "g", value: 1 }]);
    const mine = async () =>
      (await sql<{ value: number }[]>`
        select sum(value) as value from metrics.samples
        where name = ${name} and isolate in (${a}, ${b})
      `)[0].value;
    assert.equal(Number(await mine()), 5);
    await sql`update metrics.samples set updated_at = now() - interval '61 seconds' where isolate = ${b}`;
    const fresh = await sql<{ value: number }[]>`
      select coalesce(sum(s.value), 0) as value
      from metrics.samples s
      where s.isolate in (${a}, ${b}) and s.updated_at > now() - interval '60 seconds'
    `;
    assert.equal(Number(fresh[0].value), 1);
    const read = await store.read();
    const total = read.find((s) => s.name === name && s.labels === labels)?.value ?? 0;
    // Other tests may have live isolates too, but b's stale 4 must not be in the sum.
    const others = await sql<{ value: number }[]>`
      select coalesce(sum(value), 0) as value from metrics.samples
      where name = ${name} and labels = ${labels} and isolate not in (${a}, ${b})
        and updated_at > now() - interval '60 seconds'
    `;
    assert.equal(total, 1 + Number(others[0].value));
    await sql`delete from metrics.samples where isolate in (${a}, ${b})`;
  } finally {
    await forget(sql);
    await sql.end();
  }
});

Deno.test("metrics.flush() keeps the latest value of a latest-wins gauge", async () => {
  const sql = testSql(2);
  try {
    const store = new PostgresMetricsStore(() => sql);
    const dependency = "webhook";
    const labels = `dependency="${dependency}",state="${crypto.randomUUID()}"`;
    const name = "comptoir_circuit_breaker_state";
    await store.write("a", [{ name, labels, le: "", kind: "l", value: 1 }]);
    await store.write("b", [{ name, labels, le: "", kind: "l", value: 0 }]);
    const read = await store.read();
    assert.equal(read.find((s) => s.labels === labels)?.value, 0);
    await sql`delete from metrics.samples where labels = ${labels}`;
  } finally {
    await forget(sql);
    await sql.end();
  }
});

Deno.test("metrics.flush() rejects a batch with a bad sample whole", async () => {
  const sql = testSql(2);
  try {
    const store = new PostgresMetricsStore(() => sql);
    const labels = `function="alerts",route="${uniqueRoute()}",method="GET",status_class="2xx"`;
    await assert.rejects(() =>
      store.write("a", [
        { name: counter, labels, le: "", kind: "c", value: 1 },
        { name: "bad name!", labels, le: "", kind: "c", value: 1 },
      ])
    );
    const read = await store.read();
    assert.equal(read.find((s) => s.labels === labels), undefined);
  } finally {
    await forget(sql);
    await sql.end();
  }
});

Deno.test("metrics.flush() ignores negative counter increments", async () => {
  const sql = testSql(2);
  try {
    const store = new PostgresMetricsStore(() => sql);
    const labels = `function="alerts",route="${uniqueRoute()}",method="GET",status_class="2xx"`;
    await store.write("a", [{ name: counter, labels, le: "", kind: "c", value: 5 }]);
    await store.write("a", [{ name: counter, labels, le: "", kind: "c", value: -3 }]);
    const read = await store.read();
    assert.equal(read.find((s) => s.labels === labels)?.value, 5);
  } finally {
    await forget(sql);
    await sql.end();
  }
});
