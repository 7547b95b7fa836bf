import assert from "node:assert/strict";
import { createDb, type Sql } from "../db/client.ts";
import { MetricsFlusher } from "./flusher.ts";
import { MetricsRegistry } from "./registry.ts";
import { type MetricsStore, PostgresMetricsStore } from "./store.ts";

/** Removes the series this file's tests wrote. */
async function forget(sql: Sql): Promise<void> {
  await sql`delete from metrics.samples where labels like ${'%route="/alerts/t-%'}`;
}

function testSql(): Sql {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the suite with `deno task test`");
  return createDb({ url, max: 2, applicationName: "comptoir-metrics-test" });
}

/** A store on a port nothing listens on: every write fails with ECONNREFUSED. */
function deadStore(): { store: MetricsStore; sql: Sql } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const sql = createDb({ url: `postgresql://postgres:x@127.0.0.1:${port}/postgres`, max: 1 });
  return { store: new PostgresMetricsStore(() => sql), sql };
}

function request(registry: MetricsRegistry, route: string, status = "2xx") {
  registry.inc("comptoir_http_requests_total", {
    function: "alerts",
    route,
    method: "POST",
    status_class: status,
  });
}

async function stored(sql: Sql, route: string): Promise<number | undefined> {
  const rows = await sql<{ value: number }[]>`
    select value from metrics.samples
    where name = 'comptoir_http_requests_total' and labels like ${`%route="${route}"%`}
  `;
  return rows.length ? rows.reduce((sum, r) => sum + Number(r.value), 0) : undefined;
}

async function eventually(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("MetricsFlusher flushes on its own once intervalMs has passed", async () => {
  const sql = testSql();
  const registry = new MetricsRegistry();
  const store = new PostgresMetricsStore(() => sql);
  const flusher = new MetricsFlusher({ registry, store: () => store, intervalMs: 50 });
  try {
    const route = `/alerts/t-${crypto.randomUUID()}`;
    request(registry, route);
    request(registry, route);
    flusher.notify();
    assert.equal(await stored(sql, route), undefined);
    await eventually(async () => await stored(sql, route) === 2);
    assert.equal(registry.dirtySeries, 0);
  } finally {
    flusher.close();
    await forget(sql);
    await sql.end();
  }
});

Deno.test("MetricsFlusher flushes at once when maxSeries series wait, through waitUntil", async () => {
  const sql = testSql();
  const registry = new MetricsRegistry();
  const store = new PostgresMetricsStore(() => sql);
  const handed: Promise<unknown>[] = [];
  const flusher = new MetricsFlusher({
    registry,
    store: () => store,
    intervalMs: 60_000,
    maxSeries: 3,
    waitUntil: (p) => handed.push(p),
  });
  try {
    const base = `/alerts/t-${crypto.randomUUID()}`;
    for (const suffix of ["a", "b"]) {
      request(registry, `${base}/${suffix}`);
      flusher.notify();
    }
    assert.equal(handed.length, 0);
    request(registry, `${base}/c`);
    flusher.notify();
    assert.equal(handed.length, 1);
    await Promise.all(handed);
    for (const suffix of ["a", "b", "c"]) assert.equal(await stored(sql, `${base}/${suffix}`), 1);
  } finally {
    flusher.close();
    await forget(sql);
    await sql.end();
  }
});

Deno.test("MetricsFlusher keeps a failed batch, logs once per interval and delivers it later", async () => {
  const sql = testSql();
  const dead = deadStore();
  const registry = new MetricsRegistry();
  const logs: Record<string, unknown>[] = [];
  let current: MetricsStore = dead.store;
  const flusher = new MetricsFlusher({
    registry,
    store: () => current,
    intervalMs: 60_000,
    logIntervalMs: 60_000,
    log: (r) => logs.push(r),
  });
  try {
    const route = `/alerts/t-${crypto.randomUUID()}`;
    request(registry, route);
    const first = await flusher.flush();
    assert.equal(first.written, 0);
    assert.equal((first.error as { code?: string }).code, "ECONNREFUSED");
    request(registry, route);
    request(registry, route, "5xx");
    assert.equal((await flusher.flush()).written, 0);
    assert.equal(flusher.failures, 2);
    assert.equal(logs.length, 1);
    assert.equal(logs[0].msg, "metrics flush failed; samples kept for the next flush");

    current = new PostgresMetricsStore(() => sql);
    assert.equal((await flusher.flush()).written, 2);
    assert.equal(await stored(sql, route), 3);
  } finally {
    flusher.close();
    await dead.sql.end();
    await forget(sql);
    await sql.end();
  }
});

Deno.test("MetricsFlusher.flush() during a flush queues exactly one more", async () => {
  const sql = testSql();
  const registry = new MetricsRegistry();
  const store = new PostgresMetricsStore(() => sql);
  const flusher = new MetricsFlusher({ registry, store: () => store, intervalMs: 60_000 });
  try {
    const route = `/alerts/t-${crypto.randomUUID()}`;
    request(registry, route);
    const first = flusher.flush();
    request(registry, route);
    const second = flusher.flush();
    const third = flusher.flush();
    await Promise.all([first, second, third]);
    await eventually(async () => await stored(sql, route) === 2);
  } finally {
    flusher.close();
    await forget(sql);
    await sql.end();
  }
});

Deno.test("MetricsFlusher does not let the gauge heartbeat delay a recorded change", async () => {
  const sql = testSql();
  const registry = new MetricsRegistry();
  const store = new PostgresMetricsStore(() => sql);
  const flusher = new MetricsFlusher({
    registry,
    store: () => store,
    intervalMs: 50,
    heartbeatMs: 60_000,
    isolate: `t-${crypto.randomUUID()}`,
  });
  try {
    // A request in flight: the gauge is non-zero, so after this flush the heartbeat is armed.
    registry.addGauge("comptoir_http_requests_in_flight", { function: "alerts" }, 1);
    await flusher.flush();
    const route = `/alerts/t-${crypto.randomUUID()}`;
    request(registry, route);
    flusher.notify();
    await eventually(async () => await stored(sql, route) === 1, 2_000);
  } finally {
    flusher.close();
    await sql`delete from metrics.samples where isolate = ${flusher.isolate}`;
    await forget(sql);
    await sql.end();
  }
});
