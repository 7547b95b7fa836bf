import assert from "node:assert/strict";
import { renderExposition } from "./exposition.ts";
import { ExpositionError, parseExposition, sampleValue } from "./parse_exposition.ts";
import { MetricsRegistry } from "./registry.ts";

function rendered(format: "prometheus" | "openmetrics"): string {
  const r = new MetricsRegistry();
  const http = { function: "health", route: "/health/live", method: "GET", status_class: "2xx" };
  r.inc("comptoir_http_requests_total", http, 4);
  r.observe("comptoir_http_request_duration_seconds", http, 0.002);
  r.observe("comptoir_http_request_duration_seconds", http, 0.2);
  r.inc("comptoir_orders_created_total", {}, 2);
  const samples = [...r.drain(), { name: "comptoir_db_up", labels: "", le: "", value: 1 }];
  return renderExposition(samples, format);
}

Deno.test("parseExposition() reads back what renderExposition() writes, in both formats", () => {
  for (const format of ["prometheus", "openmetrics"] as const) {
    const families = parseExposition(rendered(format), { openMetrics: format === "openmetrics" });
    const http = { function: "health", route: "/health/live", method: "GET", status_class: "2xx" };
    assert.equal(sampleValue(families, "comptoir_http_requests_total", http), 4);
    assert.equal(sampleValue(families, "comptoir_http_request_duration_seconds_count", http), 2);
    assert.equal(
      sampleValue(families, "comptoir_http_request_duration_seconds_bucket", {
        ...http,
        le: "0.005",
      }),
      1,
    );
    assert.equal(sampleValue(families, "comptoir_orders_created_total"), 2);
    assert.equal(sampleValue(families, "comptoir_db_up"), 1);
  }
});

Deno.test("parseExposition() refuses malformed or inconsistent expositions", () => {
  const cases: [string, boolean][] = [
    ['# TYPE a counter\na_total{x="1" 3\n', false],
    ["a_total 3\n", false],
    ["# TYPE a_total counter\na_total 1\n# TYPE a_total counter\n", false],
    ["# TYPE g gauge\ng 1 1700000000\n", false],
    ["# TYPE g gauge\ng one\n", false],
    ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n', false],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n', false],
    ['# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\n', false],
    ["# TYPE g gauge\ng 1\n", true],
    ["# TYPE g gauge\ng 1\n# EOF\n", false],
    ["# TYPE c counter\nc 1\n# EOF\n", true],
  ];
  for (const [text, openMetrics] of cases) {
    assert.throws(() => parseExposition(text, { openMetrics }), ExpositionError, text);
  }
});
