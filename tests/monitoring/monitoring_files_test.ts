import assert from "node:assert/strict";
import {
  labelNames,
  metricNames,
  parseDuration,
  snakeCase,
  substituteGrafanaVariables,
} from "./monitoring_files.ts";

Deno.test("metricNames() finds selectors, not functions, keywords, labels or durations", () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (route, le) (rate(http_bucket{job="a",le="0.5"}[5m])))' +
        " / on (job) group_left rate_total offset 1d > bool 1e3 and vector(0) or x:y:rate5m",
    ).sort(),
    ["http_bucket", "rate_total", "x:y:rate5m"],
  );
  assert.deepEqual(metricNames("sum(up)"), ["up"]);
});

Deno.test("labelNames() finds matcher and grouping labels but not label values", () => {
  assert.deepEqual(
    labelNames('sum by (job, function) (x{status_class="5xx", route=~"a=b"}) / on (job) y').sort(),
    ["function", "job", "route", "status_class"],
  );
});

Deno.test("snakeCase() turns alert names into runbook file names", () => {
  assert.equal(snakeCase("HighErrorRate"), "high_error_rate");
  assert.equal(snakeCase("HighLatencyP99"), "high_latency_p99");
  assert.equal(snakeCase("SLOBurnRate"), "slo_burn_rate");
});

Deno.test("parseDuration() reads promtool durations", () => {
  assert.equal(parseDuration("1d2h30m"), 95400);
  assert.equal(parseDuration("90s"), 90);
  assert.throws(() => parseDuration("5 minutes"), RangeError);
});

Deno.test("substituteGrafanaVariables() leaves a query Prometheus can run", () => {
  assert.equal(
    substituteGrafanaVariables('rate(x{job="$job",function=~"$function"}[$__rate_interval])'),
    'rate(x{job="comptoir",function=~".*"}[2m])',
  );
});
