/**
 * The database breaker's state is shared through Redis: two dev-server processes on the same
 * Redis, Postgres stopped; the first trips the breaker through its own failures, the second then
 * refuses at once without ever trying the database, and when Postgres is back one probe through
 * the second closes the breaker for both.
 */
import assert from "node:assert/strict";
import type { DevServer } from "../_support/dev_server.ts";
import {
  logLines,
  request,
  startServer,
  testCluster,
  testRedis,
  uniqueIp,
  upstashEnv,
  waitFor,
} from "./support.ts";

const OPEN_MS = 3000;

Deno.test("two dev servers on one Redis share the database breaker", async () => {
  const redis = await testRedis();
  const cluster = testCluster();
  const env = {
    ...upstashEnv(redis),
    // Counters in Redis, so that only the routes' own queries touch the database.
    COMPTOIR_RATE_LIMIT_BACKEND: "upstash",
    COMPTOIR_TRUSTED_PROXY: "1",
    COMPTOIR_DB_BREAKER_FAILURES: "3",
    COMPTOIR_DB_BREAKER_OPEN_MS: String(OPEN_MS),
  };
  const servers: DevServer[] = [];
  try {
    servers.push(await startServer(env), await startServer(env));
    const [a, b] = servers;
    const browse = (server: DevServer) => request(server, "api/v1/categories", { ip: uniqueIp() });
    assert.equal((await browse(a)).status, 200);
    assert.equal((await browse(b)).status, 200);
    for (const server of servers) {
      assert.equal(
        ((logLines(server, "api protection in force")[0].breaker) as Record<string, unknown>).store,
        "upstash",
      );
    }

    await cluster.stop();
    // A fails on its own three times, then its breaker opens.
    const seen: string[] = [];
    for (let i = 0; i < 6 && !seen.includes("dependency-unavailable"); i++) {
      const res = await browse(a);
      assert.equal(res.status, 503);
      seen.push(res.body.type.split("/").pop());
    }
    assert.deepEqual(seen, [
      "service-unavailable",
      "service-unavailable",
      "service-unavailable",
      "dependency-unavailable",
    ]);

    // Past B's 1 s cache of the breaker state: B reads it from Redis on its next call.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const refused = await browse(b);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("content-type"), "application/problem+json");
    assert.equal(refused.body.type, "https://comptoir.dev/problems/dependency-unavailable");
    assert.equal(refused.body.dependency, "database");
    assert.ok(refused.body.retry_after_ms > 0 && refused.body.retry_after_ms <= OPEN_MS);
    assert.equal(
      refused.headers.get("retry-after"),
      String(Math.ceil(refused.body.retry_after_ms / 1000)),
    );
    const opened = logLines(b, "circuit breaker state changed");
    assert.deepEqual(
      opened.map((e) => [e.breaker, e.from, e.to, e.source]),
      [["database", "closed", "open", "shared"]],
    );

    await cluster.start();
    // B's probe (once the open period is over) closes the breaker for everybody.
    await waitFor("B to serve again", async () => {
      const res = await browse(b);
      return res.status === 200 ? res : undefined;
    }, { timeoutMs: OPEN_MS + 15_000, intervalMs: 250 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal((await browse(a)).status, 200);
    const aEvents = logLines(a, "circuit breaker state changed");
    assert.deepEqual(aEvents[0], { ...aEvents[0], to: "open", source: "local" });
    assert.deepEqual(aEvents.at(-1), { ...aEvents.at(-1), to: "closed", source: "shared" });
  } finally {
    await cluster.start();
    await Promise.all(servers.map((s) => s.stop()));
    await redis.stop();
  }
});
