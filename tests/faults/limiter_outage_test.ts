/**
 * Postgres crashes while the Postgres rate-limit backend checks every request and metrics are
 * flushed to Postgres every 100 ms: the process survives both, order placement (fail-closed policy)
 * answers 503 rate-limit-unavailable, catalog browsing (fail-open) is never refused by the limiter,
 * and both serve again once Postgres is back.
 */
import assert from "node:assert/strict";
import { faultScenario } from "./support.ts";

Deno.test("database gone during rate-limit checks and metric flushes: limiter fails per its mode", async () => {
  const report = await faultScenario({
    kind: "limiter",
    rounds: 2,
  });
  assert.ok(report.failClosed >= 10, `${report.failClosed} fail-closed refusals`);
  assert.equal(report.failClosedOnOpenRoutes, 0);
  const browsing = report.attempts.filter((a) => a.method === "GET");
  assert.ok(browsing.some((a) => a.status === 503 && a.problem === "dependency-unavailable"));
  assert.ok(browsing.at(-1)?.status === 200);
});
