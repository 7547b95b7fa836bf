/**
 * Postgres crashes (`pg_ctl stop -m immediate`) while ten clients place orders, three times: the
 * process keeps serving, requests in flight get a 503 problem with Retry-After, requests while it is
 * down are refused at once by the breaker, orders are placed again within seconds of the restart,
 * and a client retrying with its Idempotency-Key gets the order committed while its answer was lost.
 */
import assert from "node:assert/strict";
import { faultScenario } from "./support.ts";

const BREAKER_OPEN_MS = 1000;

Deno.test("immediate shutdown under order load, three times: no crash, nothing lost or doubled", async () => {
  const report = await faultScenario({
    kind: "immediate",
    rounds: 3,
    breakerOpenMs: BREAKER_OPEN_MS,
  });
  assert.equal(report.injections, 3);
  assert.ok(report.fastRefusals >= 60, `${report.fastRefusals} fast refusals`);
  assert.ok((report.byStatus["503"] ?? 0) >= report.fastRefusals);
  // Back by itself: the breaker's probe period plus a reconnect, not a restart of the process.
  for (const ms of report.recoveryMs) {
    assert.ok(ms < BREAKER_OPEN_MS + 5000, `orders placed again ${ms} ms after Postgres was back`);
  }
});
