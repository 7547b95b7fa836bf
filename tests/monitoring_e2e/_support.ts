/**
 * Helpers of the monitoring end-to-end tests: scraping the `metrics` function, waiting for a
 * condition, and stopping the test cluster for a while (always restarted).
 * @module
 */
import { PgCluster } from "../../scripts/lib/pg_cluster.ts";
import {
  type ParsedFamily,
  parseExposition,
  sampleValue,
} from "../../supabase/functions/_shared/metrics/parse_exposition.ts";

/** The token the tests give the dev servers' `metrics` function. */
export const METRICS_TOKEN = "monitoring-e2e-token";

/** Environment of a dev server under test: metrics token, quick flushes, the fault switch. */
export const MONITORED_ENV: Record<string, string> = {
  COMPTOIR_METRICS_TOKEN: METRICS_TOKEN,
  COMPTOIR_METRICS_FLUSH_MS: "200",
  COMPTOIR_TEST_FAULTS: "1",
};

/** Scrapes `${base}/functions/v1/metrics` in the 0.0.4 text format and parses it strictly. */
export async function scrape(
  base: string,
  token = METRICS_TOKEN,
): Promise<Map<string, ParsedFamily>> {
  const res = await fetch(`${base}/functions/v1/metrics`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`metrics answered ${res.status}: ${text}`);
  return parseExposition(text);
}

/** The value of one sample of a scrape, 0 when absent. */
export function valueOf(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  return sampleValue(families, name, labels) ?? 0;
}

/** Polls `check` until it returns a value other than `undefined`, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 250 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** The test cluster of `deno task test` (TEST_PG_DATA_DIR, TEST_PG_PORT). */
export function testCluster(): PgCluster {
  const dataDir = Deno.env.get("TEST_PG_DATA_DIR");
  const port = Number(Deno.env.get("TEST_PG_PORT"));
  if (!dataDir || !port) {
    throw new Error(
      "TEST_PG_DATA_DIR and TEST_PG_PORT are not set: run the suite with `deno task test`",
    );
  }
  return new PgCluster({ dataDir, port });
}

/** Runs `body` with the test cluster stopped, and starts it again whatever happens. */
export async function withDatabaseStopped<T>(body: () => Promise<T>): Promise<T> {
  const cluster = testCluster();
  await cluster.stop();
  try {
    return await body();
  } finally {
    await cluster.start();
  }
}
