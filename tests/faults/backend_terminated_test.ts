/**
 * The functions' backends are terminated (`pg_terminate_backend`) while their transaction runs —
 * place_order has written the order and sleeps in the stock reservation — again and again under
 * the load of ten clients: the transaction rolls back, its client gets a 503 problem with
 * Retry-After (or its order, when the commit won), and retrying with the key places it exactly once.
 */
import assert from "node:assert/strict";
import { faultScenario } from "./support.ts";

Deno.test("backends terminated mid-transaction under order load: no crash, nothing lost or doubled", async () => {
  const report = await faultScenario({
    kind: "terminate",
    rounds: 3,
    placeOrderDelaySeconds: 0.05,
  });
  assert.ok(report.injections >= 30, `${report.injections} backends terminated`);
  assert.ok(report.midTransaction >= 10, `${report.midTransaction} while placing an order`);
  assert.ok((report.byStatus["503"] ?? 0) >= 10, JSON.stringify(report.byStatus));
});
