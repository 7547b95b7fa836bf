import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { BreakerRegistry } from "./breaker_registry.ts";
import type { BreakerEvent } from "./circuit_breaker.ts";

Deno.test("BreakerRegistry hands out one breaker per dependency with its overrides", async () => {
  const clock = new FakeClock();
  const registry = new BreakerRegistry({ clock, failureThreshold: 5 }, {
    resend: { failureThreshold: 1 },
  });
  assert.equal(registry.get("postgres"), registry.get("postgres"));
  assert.notEqual(registry.get("postgres"), registry.get("resend"));
  assert.equal(registry.get("postgres").policy.failureThreshold, 5);
  assert.equal(registry.get("resend").policy.failureThreshold, 1);

  const events: BreakerEvent[] = [];
  registry.subscribe((e) => events.push(e));
  await assert.rejects(
    registry.get("resend").execute(() => Promise.reject(new TypeError("fetch failed"))),
  );
  assert.deepEqual(events.map((e) => [e.breaker, e.to]), [["resend", "open"]]);
  assert.deepEqual(registry.list().map((b) => b.name), ["postgres", "resend"]);
});

Deno.test("BreakerRegistry.get() tunes a breaker at creation; overrides still win", () => {
  const registry = new BreakerRegistry({ openMs: 30_000 }, { resend: { openMs: 1000 } });
  const db = registry.get("database", { failureThreshold: 2, openMs: 5000 });
  assert.equal(db.policy.failureThreshold, 2);
  assert.equal(db.policy.openMs, 5000);
  // Later callers get the same breaker whatever they pass.
  assert.equal(registry.get("database", { openMs: 1 }), db);
  assert.equal(registry.get("database").policy.openMs, 5000);
  assert.equal(registry.get("resend", { openMs: 9000 }).policy.openMs, 1000);
});
