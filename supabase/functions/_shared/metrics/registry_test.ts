import assert from "node:assert/strict";
import { type BatchSample, MetricsRegistry } from "./registry.ts";

function quiet() {
  const warnings: Record<string, unknown>[] = [];
  return { registry: new MetricsRegistry({ warn: (r) => warnings.push(r) }), warnings };
}

function byKey(batch: BatchSample[]): Map<string, BatchSample> {
  return new Map(batch.map((s) => [`${s.name}{${s.labels}}${s.le}`, s]));
}

Deno.test("MetricsRegistry.inc() sums increments of a series and forgets them after drain()", () => {
  const { registry } = quiet();
  registry.inc("comptoir_orders_created_total");
  registry.inc("comptoir_orders_created_total", {}, 2);
  registry.inc("comptoir_checkout_failures_total", { reason: "out_of_stock" });
  const batch = byKey(registry.drain());
  assert.equal(batch.get("comptoir_orders_created_total{}")?.value, 3);
  assert.equal(batch.get("comptoir_orders_created_total{}")?.kind, "c");
  assert.equal(batch.get('comptoir_checkout_failures_total{reason="out_of_stock"}')?.value, 1);
  assert.deepEqual(registry.drain(), []);
});

Deno.test("MetricsRegistry.observe() writes cumulative buckets, +Inf, _sum and _count", () => {
  const { registry } = quiet();
  for (const v of [0.004, 0.3, 0.5, 7, 12]) {
    registry.observe(
      "comptoir_http_request_duration_seconds",
      { function: "api", route: "/api/v1/products", method: "GET", status_class: "2xx" },
      v,
    );
  }
  const batch = registry.drain();
  const buckets = batch.filter((s) => s.name.endsWith("_bucket")).map((s) => [s.le, s.value]);
  assert.deepEqual(buckets, [
    ["0.005", 1],
    ["0.01", 1],
    ["0.025", 1],
    ["0.05", 1],
    ["0.1", 1],
    ["0.25", 1],
    ["0.5", 3],
    ["1", 3],
    ["2.5", 3],
    ["5", 3],
    ["10", 4],
    ["+Inf", 5],
  ]);
  const map = byKey(batch);
  const labels = 'function="api",route="/api/v1/products",method="GET",status_class="2xx"';
  assert.equal(map.get(`comptoir_http_request_duration_seconds_count{${labels}}`)?.value, 5);
  assert.ok(
    Math.abs(map.get(`comptoir_http_request_duration_seconds_sum{${labels}}`)!.value - 19.804) <
      1e-9,
  );
});

Deno.test("MetricsRegistry maps values outside a set to its catch-all", () => {
  const { registry } = quiet();
  registry.inc("comptoir_http_requests_total", {
    function: "api",
    route: "no leading slash",
    method: "propfind",
    status_class: "4xx",
  });
  registry.observe("comptoir_order_value_minor_units", { currency: "xbt" }, 100);
  const names = registry.drain().map((s) => s.labels);
  assert.ok(names.includes('function="api",route="unmatched",method="OTHER",status_class="4xx"'));
  assert.ok(names.includes('currency="OTHER"'));
});

Deno.test("MetricsRegistry drops a sample whose label has no catch-all, and warns once", () => {
  const { registry, warnings } = quiet();
  registry.inc("comptoir_cache_misses_total", { cache: "sessions" });
  registry.inc("comptoir_cache_misses_total", { cache: "sessions" });
  registry.inc("comptoir_rate_limit_decisions_total", { policy: "anonymous" });
  assert.deepEqual(registry.drain(), []);
  assert.equal(registry.dropped, 3);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].family, "comptoir_cache_misses_total");
});

Deno.test("MetricsRegistry escapes label values it passes through", () => {
  const { registry } = quiet();
  const key = registry.seriesKey("comptoir_build_info", {
    version: '1.0-"rc"\\x',
    commit: "abc1234",
    deno_version: "2.9.6",
  });
  assert.equal(key, 'version="1.0-\\"rc\\"\\\\x",commit="abc1234",deno_version="2.9.6"');
  assert.equal(
    registry.seriesKey("comptoir_http_requests_total", {
      function: "api",
      route: '/api/"quoted"',
      method: "GET",
      status_class: "2xx",
    }),
    'function="api",route="unmatched",method="GET",status_class="2xx"',
  );
});

Deno.test("MetricsRegistry refuses a family outside the contract", () => {
  const { registry } = quiet();
  assert.throws(() => registry.inc("comptoir_nope_total" as never), RangeError);
});

Deno.test("MetricsRegistry sends per-isolate gauges when they change or on a heartbeat", () => {
  const { registry } = quiet();
  registry.addGauge("comptoir_http_requests_in_flight", { function: "api" }, 1);
  registry.addGauge("comptoir_http_requests_in_flight", { function: "api" }, 1);
  const first = registry.drain();
  assert.deepEqual(first.map((s) => [s.kind, s.value]), [["g", 2]]);
  assert.equal(registry.holdsGauges, true);
  assert.deepEqual(registry.drain(), []);
  assert.deepEqual(registry.drain({ gauges: true }).map((s) => s.value), [2]);
  registry.addGauge("comptoir_http_requests_in_flight", { function: "api" }, -2);
  assert.deepEqual(registry.drain().map((s) => s.value), [0]);
  assert.equal(registry.holdsGauges, false);
});

Deno.test("MetricsRegistry keeps the latest value of a latest-wins gauge", () => {
  const { registry } = quiet();
  registry.setLatest("comptoir_rate_limit_adaptive_factor", { policy: "checkout" }, 0.5);
  registry.setLatest("comptoir_rate_limit_adaptive_factor", { policy: "checkout" }, 0.75);
  assert.deepEqual(registry.drain().map((s) => [s.kind, s.value]), [["l", 0.75]]);
});

Deno.test("MetricsRegistry.restore() adds a failed batch to the next one", () => {
  const { registry } = quiet();
  registry.inc("comptoir_orders_created_total", {}, 2);
  registry.setLatest("comptoir_rate_limit_adaptive_factor", { policy: "export" }, 0.5);
  const failed = registry.drain();
  registry.restore(failed);
  assert.equal(registry.dirtySeries, 2);
  registry.inc("comptoir_orders_created_total", {}, 3);
  registry.setLatest("comptoir_rate_limit_adaptive_factor", { policy: "export" }, 0.9);
  const next = byKey(registry.drain());
  assert.equal(next.get("comptoir_orders_created_total{}")?.value, 5);
  assert.equal(next.get('comptoir_rate_limit_adaptive_factor{policy="export"}')?.value, 0.9);
});

Deno.test("MetricsRegistry ignores negative increments and non-finite observations", () => {
  const { registry } = quiet();
  registry.inc("comptoir_orders_created_total", {}, -1);
  registry.observe("comptoir_order_value_minor_units", { currency: "EUR" }, NaN);
  assert.deepEqual(registry.drain(), []);
});
