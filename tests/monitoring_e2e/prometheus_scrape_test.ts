import assert from "node:assert/strict";
import { promQuery, startMonitoringStack } from "./_stack.ts";
import { waitFor } from "./_support.ts";

Deno.test("a real Prometheus scrapes the metrics function without errors", async () => {
  const stack = await startMonitoringStack();
  try {
    const { url } = stack.prometheus;
    // A few scrapes, with traffic in between, so that series appear and change.
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${stack.server.url}/functions/v1/health/live`);
      await res.body?.cancel();
    }
    await waitFor("the health requests in Prometheus", async () => {
      const [sample] = await promQuery(
        url,
        'comptoir_http_requests_total{function="health",route="/health/live",status_class="2xx"}',
      );
      return sample && sample.value >= 20 ? sample : undefined;
    });

    const targets = (await (await fetch(`${url}/api/v1/targets?state=active`)).json()).data
      .activeTargets;
    assert.equal(targets.length, 1);
    assert.equal(targets[0].health, "up");
    assert.equal(targets[0].lastError, "");
    assert.equal((await promQuery(url, 'up{job="comptoir"}'))[0].value, 1);
    assert.equal((await promQuery(url, "comptoir_db_up"))[0].value, 1);
    const [info] = await promQuery(url, "comptoir_build_info");
    assert.equal(info.metric.deno_version, Deno.version.deno);
    assert.ok((await promQuery(url, 'scrape_samples_scraped{job="comptoir"}'))[0].value > 20);

    // Histograms arrive whole: quantiles over them evaluate.
    const [p50] = await promQuery(
      url,
      'histogram_quantile(0.5, sum by (le) (comptoir_http_request_duration_seconds_bucket{function="health"}))',
    );
    assert.ok(p50.value > 0 && p50.value <= 10, String(p50.value));
    // Prometheus counted no sample it had to reject.
    for (
      const counter of [
        "prometheus_target_scrapes_sample_duplicate_timestamp_total",
        "prometheus_target_scrapes_sample_out_of_order_total",
        "prometheus_target_scrapes_sample_out_of_bounds_total",
        "prometheus_target_scrapes_exceeded_sample_limit_total",
      ]
    ) {
      const [sample] = await promQuery(url, counter);
      assert.equal(sample?.value ?? 0, 0, counter);
    }
  } finally {
    await stack.stop();
  }
});
