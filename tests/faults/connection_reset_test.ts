/**
 * A TCP proxy between the functions and Postgres resets every connection (RST) while orders are
 * being placed, three times: queries in flight fail as connection failures (503 problem with
 * Retry-After), the pool reconnects by itself, and an order whose commit answer was cut off is
 * given back to the client that retries with its Idempotency-Key.
 */
import assert from "node:assert/strict";
import { faultScenario } from "./support.ts";

Deno.test("connections reset mid-query by a proxy: no crash, nothing lost or doubled", async () => {
  const report = await faultScenario({
    kind: "reset",
    rounds: 3,
    placeOrderDelaySeconds: 0.05,
  });
  assert.ok(report.injections >= 3, `${report.injections} connections reset`);
  assert.equal(report.midTransaction, 3);
  assert.ok((report.byStatus["503"] ?? 0) >= 1, JSON.stringify(report.byStatus));
});
