import assert from "node:assert/strict";
import {
  type ExpositionSample,
  formatValue,
  negotiateExposition,
  renderExposition,
} from "./exposition.ts";
import { FAMILIES } from "./families.ts";
import { MetricsRegistry } from "./registry.ts";

/** A batch touching every family a function records, as the store would return it. */
function everyFamily(): ExpositionSample[] {
  const r = new MetricsRegistry();
  const http = {
    function: "api",
    route: "/api/v1/products/:id",
    method: "GET",
    status_class: "2xx",
  };
  r.inc("comptoir_http_requests_total", http, 3);
  r.observe("comptoir_http_request_duration_seconds", http, 0.02);
  r.observe("comptoir_http_request_duration_seconds", http, 0.7);
  r.setGauge("comptoir_http_requests_in_flight", { function: "api" }, 2);
  r.inc("comptoir_orders_created_total");
  r.observe("comptoir_order_value_minor_units", { currency: "EUR" }, 1250);
  r.inc("comptoir_checkout_attempts_total", {}, 2);
  r.inc("comptoir_checkout_failures_total", { reason: "out_of_stock" });
  r.observe("comptoir_db_query_duration_seconds", { operation: "select" }, 0.003);
  r.inc("comptoir_db_errors_total", { sqlstate_class: "23" });
  r.setGauge("comptoir_db_pool_connections_in_use", {}, 1);
  r.setGauge("comptoir_db_pool_connections_max", {}, 3);
  r.setGauge("comptoir_db_pool_connections_waiting", {}, 2);
  r.inc("comptoir_cache_hits_total", { cache: "products", tier: "memory" });
  r.inc("comptoir_cache_misses_total", { cache: "products" });
  r.inc("comptoir_cache_evictions_total", { cache: "products", tier: "shared", reason: "expired" });
  r.setGauge("comptoir_cache_entries", { cache: "products", tier: "memory" }, 10);
  r.setGauge("comptoir_cache_size_bytes", { cache: "products", tier: "memory" }, 2048);
  r.inc("comptoir_auth_attempts_total", { method: "jwt" });
  r.inc("comptoir_auth_failures_total", { method: "jwt", reason: "expired" });
  r.inc("comptoir_rate_limit_decisions_total", { policy: "checkout", result: "allowed" });
  r.setLatest("comptoir_rate_limit_adaptive_factor", { policy: "checkout" }, 0.75);
  for (const state of ["closed", "open", "half_open"]) {
    r.setLatest(
      "comptoir_circuit_breaker_state",
      { dependency: "redis", state },
      state === "open" ? 1 : 0,
    );
  }
  r.inc("comptoir_circuit_breaker_transitions_total", {
    dependency: "redis",
    from: "closed",
    to: "open",
  });
  r.inc("comptoir_retries_total", { dependency: "postgres", outcome: "recovered" });
  r.observe("comptoir_materialized_view_refresh_duration_seconds", {
    view: "private.products_stats",
  }, 0.3);
  r.inc("comptoir_materialized_view_refresh_failures_total", { view: "private.products_stats" });
  const exportLabels = { resource: "orders", format: "csv" };
  r.inc("comptoir_export_rows_total", exportLabels, 500_000);
  r.inc("comptoir_export_bytes_total", exportLabels, 61_800_000);
  r.observe("comptoir_export_duration_seconds", exportLabels, 2.3);
  r.inc("comptoir_export_pages_total", { ...exportLabels, outcome: "complete" });
  r.inc("comptoir_alert_evaluations_total", { result: "evaluated" });
  r.observe("comptoir_alert_evaluation_duration_seconds", {}, 0.04);
  r.setLatest("comptoir_alerts", { state: "firing" }, 1);
  r.inc("comptoir_alert_notifications_total", { status: "firing" });
  r.inc("comptoir_alert_notifications_suppressed_total", { reason: "cooldown" }, 3);
  r.inc("comptoir_notifications_delivered_total", { channel: "slack" });
  r.inc("comptoir_notifications_failed_total", { channel: "slack" });
  r.inc("comptoir_notifications_dead_total", { channel: "webhook" });
  r.observe("comptoir_notifications_delivery_latency_seconds", { channel: "slack" }, 1.5);
  const samples: ExpositionSample[] = r.drain();
  const view = 'view="private.products_stats"';
  samples.push(
    { name: "comptoir_low_stock_products", labels: "", le: "", value: 7 },
    { name: "comptoir_db_up", labels: "", le: "", value: 1 },
    // Written by the database's verification job straight into the store.
    { name: "comptoir_audit_chain_intact", labels: "", le: "", value: 1 },
    {
      name: "comptoir_audit_verification_timestamp_seconds",
      labels: "",
      le: "",
      value: 1_796_347_800,
    },
    { name: "comptoir_audit_verified_rows_total", labels: "", le: "", value: 18_342 },
    { name: "comptoir_audit_unsealed_rows", labels: "", le: "", value: 12 },
    { name: "comptoir_materialized_view_staleness_seconds", labels: view, le: "", value: 12.5 },
    {
      name: "comptoir_materialized_view_refresh_interval_seconds",
      labels: view,
      le: "",
      value: 900,
    },
    { name: "comptoir_cron_job_runs_total", labels: 'cron_job="cache-cleanup"', le: "", value: 4 },
    // Written by the database's audit verification job into the shared store.
    { name: "comptoir_audit_chain_intact", labels: "", le: "", value: 1 },
    { name: "comptoir_audit_verification_timestamp_seconds", labels: "", le: "", value: 1.8e9 },
    { name: "comptoir_audit_verified_rows_total", labels: "", le: "", value: 120 },
    { name: "comptoir_audit_unsealed_rows", labels: "", le: "", value: 3 },
    {
      name: "comptoir_cron_job_failures_total",
      labels: 'cron_job="cache-cleanup"',
      le: "",
      value: 0,
    },
    ...[
      ["comptoir_notifications_enqueued_total", 9],
      ["comptoir_notifications_backlog", 2],
      ["comptoir_notifications_oldest_pending_age_seconds", 4.5],
      ["comptoir_notifications_dead_letters", 1],
    ].map(([name, value]) => ({
      name: name as string,
      labels: 'channel="email"',
      le: "",
      value: value as number,
    })),
    {
      name: "comptoir_build_info",
      labels: 'version="0.1.0",commit="unknown",deno_version="2.9.6"',
      le: "",
      value: 1,
    },
  );
  return samples;
}

async function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("renderExposition() output of every family passes promtool check metrics", async () => {
  const text = renderExposition(everyFamily(), "prometheus");
  const { code, output } = await promtoolCheckMetrics(text);
  assert.equal(output.trim(), "");
  assert.equal(code, 0);
  for (const family of FAMILIES) {
    assert.equal(text.split(`# TYPE ${family.name} `).length - 1, 1, family.name);
    assert.equal(text.split(`# HELP ${family.name} `).length - 1, 1, family.name);
  }
});

Deno.test("renderExposition() writes histogram buckets in le order, then _sum and _count", () => {
  const text = renderExposition(everyFamily(), "prometheus");
  const lines = text.split("\n").filter((l) => l.startsWith("comptoir_order_value_minor_units"));
  assert.deepEqual(lines, [
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="500"} 0',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="1000"} 0',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="2500"} 1',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="5000"} 1',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="10000"} 1',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="25000"} 1',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="50000"} 1',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="100000"} 1',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="250000"} 1',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="500000"} 1',
    'comptoir_order_value_minor_units_bucket{currency="EUR",le="+Inf"} 1',
    'comptoir_order_value_minor_units_sum{currency="EUR"} 1250',
    'comptoir_order_value_minor_units_count{currency="EUR"} 1',
  ]);
});

Deno.test("renderExposition() keeps buckets cumulative when the store lacks a bound", () => {
  const labels = 'operation="select"';
  const text = renderExposition([
    { name: "comptoir_db_query_duration_seconds_bucket", labels, le: "0.001", value: 2 },
    { name: "comptoir_db_query_duration_seconds_bucket", labels, le: "+Inf", value: 5 },
    { name: "comptoir_db_query_duration_seconds_sum", labels, le: "", value: 0.5 },
    { name: "comptoir_db_query_duration_seconds_count", labels, le: "", value: 5 },
  ]);
  const values = text.split("\n").filter((l) => l.includes("_bucket")).map((l) =>
    Number(l.split(" ")[1])
  );
  assert.deepEqual(values, [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 5]);
});

Deno.test("renderExposition() in OpenMetrics names counter families without _total and ends with # EOF", () => {
  const text = renderExposition(everyFamily(), "openmetrics");
  assert.ok(text.includes("# TYPE comptoir_http_requests counter\n"));
  assert.ok(text.includes("# HELP comptoir_http_requests HTTP requests"));
  assert.ok(text.includes('\ncomptoir_http_requests_total{function="api"'));
  assert.ok(text.includes("# TYPE comptoir_db_up gauge\n"));
  assert.ok(text.endsWith("# EOF\n"));
  assert.equal(text.split("# EOF").length, 2);
});

Deno.test("renderExposition() ignores samples of names outside the contract", () => {
  const text = renderExposition([
    { name: "comptoir_db_up", labels: "", le: "", value: 0 },
    { name: "something_else", labels: "", le: "", value: 1 },
  ]);
  assert.equal(
    text,
    "# HELP comptoir_db_up Whether the database answered during this scrape.\n" +
      "# TYPE comptoir_db_up gauge\ncomptoir_db_up 0\n",
  );
});

Deno.test("negotiateExposition() picks OpenMetrics only when the Accept header asks for it", () => {
  assert.equal(
    negotiateExposition(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    ),
    "openmetrics",
  );
  assert.equal(negotiateExposition("text/plain"), "prometheus");
  assert.equal(negotiateExposition(null), "prometheus");
  assert.equal(negotiateExposition("application/openmetrics-text;q=0"), "prometheus");
});

Deno.test("formatValue() writes infinities and NaN like Prometheus", () => {
  assert.deepEqual([Infinity, -Infinity, NaN, 3, 0.25].map(formatValue), [
    "+Inf",
    "-Inf",
    "NaN",
    "3",
    "0.25",
  ]);
});
