import assert from "node:assert/strict";
import { startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import { parseExposition } from "../../supabase/functions/_shared/metrics/parse_exposition.ts";
import { METRICS_TOKEN, MONITORED_ENV, valueOf, withDatabaseStopped } from "./_support.ts";

Deno.test("metrics refuses scrapes without the right bearer token with 401 problem+json", async () => {
  const server = await startDevServer({ dbUrl: testDatabaseUrl(), env: MONITORED_ENV });
  try {
    const url = `${server.url}/functions/v1/metrics`;
    for (
      const authorization of [undefined, "Bearer wrong", `Basic ${btoa("a:b")}`, server.anonKey]
    ) {
      const res = await fetch(url, { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401, String(authorization));
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.equal((await res.json()).type, "https://comptoir.dev/problems/unauthorized");
    }
    const ok = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(ok.status, 200);
    const families = parseExposition(await ok.text());
    assert.ok(
      valueOf(families, "comptoir_auth_failures_total", {
        method: "metrics_token",
        reason: "missing_credentials",
      }) >= 1,
    );
    assert.ok(
      valueOf(families, "comptoir_auth_failures_total", {
        method: "metrics_token",
        reason: "unknown_key",
      }) >= 1,
    );
  } finally {
    await server.stop();
  }
});

Deno.test("metrics answers text 0.0.4 by default and OpenMetrics when asked", async () => {
  const server = await startDevServer({ dbUrl: testDatabaseUrl(), env: MONITORED_ENV });
  try {
    const url = `${server.url}/functions/v1/metrics`;
    const authorization = `Bearer ${METRICS_TOKEN}`;
    const text = await fetch(url, { headers: { authorization } });
    assert.equal(text.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const families = parseExposition(await text.text());
    assert.equal(valueOf(families, "comptoir_db_up"), 1);
    assert.equal(
      families.get("comptoir_build_info")?.samples[0].labels.deno_version,
      Deno.version.deno,
    );
    for (
      const name of [
        "comptoir_orders_created_total",
        "comptoir_checkout_attempts_total",
        "comptoir_low_stock_products",
      ]
    ) {
      assert.ok(families.has(name), name);
    }
    assert.ok(families.has("comptoir_materialized_view_staleness_seconds"));
    assert.ok(families.has("comptoir_materialized_view_refresh_interval_seconds"));

    const om = await fetch(url, {
      headers: { authorization, accept: "application/openmetrics-text; version=1.0.0" },
    });
    assert.equal(
      om.headers.get("content-type"),
      "application/openmetrics-text; version=1.0.0; charset=utf-8",
    );
    const body = await om.text();
    assert.ok(body.endsWith("# EOF\n"));
    assert.ok(parseExposition(body, { openMetrics: true }).has("comptoir_http_requests"));
  } finally {
    await server.stop();
  }
});

Deno.test("metrics answers 200 with comptoir_db_up 0 while the database is down", async () => {
  const server = await startDevServer({ dbUrl: testDatabaseUrl(), env: MONITORED_ENV });
  try {
    const url = `${server.url}/functions/v1/metrics`;
    const headers = { authorization: `Bearer ${METRICS_TOKEN}` };
    await withDatabaseStopped(async () => {
      const started = performance.now();
      const res = await fetch(url, { headers });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 200);
      const families = parseExposition(await res.text());
      assert.equal(valueOf(families, "comptoir_db_up"), 0);
      assert.ok(families.has("comptoir_build_info"));
      // Counters are left out rather than shown as 0, which would read as a reset.
      assert.ok(!families.has("comptoir_orders_created_total"));
      assert.ok(elapsed < 5_000, `scrape took ${elapsed} ms`);
    });
    const after = parseExposition(await (await fetch(url, { headers })).text());
    assert.equal(valueOf(after, "comptoir_db_up"), 1);
  } finally {
    await server.stop();
  }
});
