/**
 * HighDatabaseLatency and DatabasePoolSaturated fire from real traffic: clients call the API
 * through the dev server with the test-only fault that puts `pg_sleep(0.3)` before each statement
 * of their requests, on a pool of two connections shared by three clients, and a real Prometheus
 * scraping the `metrics` function with the shipped rules (only `for:` shortened) raises both.
 */
import assert from "node:assert/strict";
import { DB_SLEEP_HEADER } from "../../supabase/functions/_shared/metrics/fault_switch.ts";
import { promAlerts, promQuery, startMonitoringStack } from "./_stack.ts";
import { waitFor } from "./_support.ts";

/** Clients sending slow requests in a loop until `signal` aborts; resolves with the count. */
async function slowTraffic(
  url: string,
  apiKey: string,
  clients: number,
  signal: AbortSignal,
): Promise<number> {
  let sent = 0;
  const statuses = new Map<number, number>();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (!signal.aborted) {
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${apiKey}`, [DB_SLEEP_HEADER]: "300" },
      }).catch(() => undefined);
      await res?.body?.cancel();
      if (res) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      sent++;
    }
  }));
  assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
  return sent;
}

/** Waits until Prometheus holds `alert` firing, and returns its firing instances. */
function firing(prometheus: string, alert: string) {
  return waitFor(`${alert} firing`, async () => {
    const alerts = (await promAlerts(prometheus)).filter((a) =>
      a.labels.alertname === alert && a.state === "firing"
    );
    return alerts.length > 0 ? alerts : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1000 });
}

Deno.test("slow statements and a full pool raise HighDatabaseLatency and DatabasePoolSaturated", async () => {
  const stack = await startMonitoringStack({
    alertFor: { HighDatabaseLatency: "10s", DatabasePoolSaturated: "10s" },
    defaultFor: "5s",
    // Two connections for three clients: one always waits. The scrape shares the pool (one
    // process serves every function locally), so it gets more than 1 s to finish.
    env: { COMPTOIR_DB_POOL_MAX: "2", COMPTOIR_RATE_LIMIT_BACKEND: "off" },
    scrapeInterval: "3s",
  });
  const traffic = new AbortController();
  const sending = slowTraffic(
    `${stack.server.url}/functions/v1/api/v1/categories`,
    stack.server.anonKey,
    3,
    traffic.signal,
  );
  try {
    const prometheus = stack.prometheus.url;
    const latency = await firing(prometheus, "HighDatabaseLatency");
    assert.deepEqual(latency.map((a) => a.labels.operation), ["select"]);
    assert.equal(latency[0].labels.severity, "warning");

    const saturated = await firing(prometheus, "DatabasePoolSaturated");
    assert.equal(saturated.length, 1);
    // One series per isolate: isolates of earlier tests may still be fresh in the metrics store, so
    // this server's own pool (2) must be among them rather than first.
    const maxima = (await promQuery(prometheus, "comptoir_db_pool_connections_max")).map((s) =>
      s.value
    );
    assert.ok(maxima.includes(2), `pool maxima ${maxima.join(", ")}`);
    const [p95] = await promQuery(
      prometheus,
      'job_operation:comptoir_db_query_duration_seconds:p95_5m{operation="select"}',
    );
    assert.ok(p95.value > 0.25, `p95 ${p95.value}`);
  } finally {
    traffic.abort();
    const sent = await sending.finally(() => stack.stop());
    assert.ok(sent > 0);
  }
});
