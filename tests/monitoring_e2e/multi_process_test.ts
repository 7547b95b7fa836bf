import assert from "node:assert/strict";
import { type DevServer, startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import { MONITORED_ENV, scrape, valueOf, waitFor } from "./_support.ts";

const LIVE = { function: "health", route: "/health/live", method: "GET", status_class: "2xx" };
const MISSING = { function: "health", route: "unmatched", method: "GET", status_class: "4xx" };

/** Sends `count` requests to `url`, `concurrency` at a time; every body is read. */
async function drive(url: string, count: number, concurrency: number): Promise<number> {
  let sent = 0;
  let ok = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (sent < count) {
      sent++;
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.status < 500) ok++;
    }
  }));
  return ok;
}

Deno.test("counters from three dev servers on one database equal the requests made", async () => {
  const servers: DevServer[] = [];
  try {
    for (const _ of [1, 2, 3]) {
      servers.push(await startDevServer({ dbUrl: testDatabaseUrl(), env: MONITORED_ENV }));
    }
    const before = await scrape(servers[0].url);
    const liveBefore = valueOf(before, "comptoir_http_requests_total", LIVE);
    const missingBefore = valueOf(before, "comptoir_http_requests_total", MISSING);
    const countBefore = valueOf(before, "comptoir_http_request_duration_seconds_count", LIVE);

    const perServer = [400, 250, 330];
    const answered = await Promise.all(servers.flatMap((server, i) => [
      drive(`${server.url}/functions/v1/health/live`, perServer[i], 8),
      drive(`${server.url}/functions/v1/health/missing-${i}`, 10 * (i + 1), 2),
    ]));
    assert.deepEqual(answered, [400, 10, 250, 20, 330, 30]);
    const live = 400 + 250 + 330;
    const missing = 10 + 20 + 30;

    // Each server flushes within 200 ms; a scrape through any of them sees every isolate.
    const after = await waitFor("every server's flush", async () => {
      const families = await scrape(servers[2].url);
      const seen = valueOf(families, "comptoir_http_requests_total", LIVE) - liveBefore;
      return seen >= live ? families : undefined;
    });
    assert.equal(valueOf(after, "comptoir_http_requests_total", LIVE) - liveBefore, live);
    assert.equal(valueOf(after, "comptoir_http_requests_total", MISSING) - missingBefore, missing);
    assert.equal(
      valueOf(after, "comptoir_http_request_duration_seconds_count", LIVE) - countBefore,
      live,
    );

    // Nothing arrives late and nothing is counted twice.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const settled = await scrape(servers[1].url);
    assert.equal(valueOf(settled, "comptoir_http_requests_total", LIVE) - liveBefore, live);
    assert.equal(
      valueOf(settled, "comptoir_http_requests_total", MISSING) - missingBefore,
      missing,
    );
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
});
