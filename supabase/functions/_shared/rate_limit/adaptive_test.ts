import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { AdaptiveLimit } from "./adaptive.ts";

Deno.test("AdaptiveLimit scales down on injected errors, at most once per cooldown, to the floor", async () => {
  const clock = new FakeClock();
  const logs: Record<string, unknown>[] = [];
  const adaptive = new AdaptiveLimit({ clock, cooldownMs: 1000, log: (r) => logs.push(r) });
  assert.equal(adaptive.observe({ errorRate: 0.01, p95LatencyMs: 100 }), 1);
  assert.equal(adaptive.observe({ errorRate: 0.4 }), 0.5);
  assert.equal(adaptive.observe({ errorRate: 0.4 }), 0.5);
  assert.equal(adaptive.scale(100), 50);
  for (let i = 0; i < 6; i++) {
    await clock.advance(1000);
    adaptive.observe({ dbSaturation: 0.99 });
  }
  assert.equal(adaptive.factor, 0.1);
  assert.equal(adaptive.scale(5), 1);
  assert.deepEqual(adaptive.changes.map((c) => c.to), [0.5, 0.25, 0.125, 0.1]);
  assert.equal(logs.length, 4);
  assert.equal(logs[0].msg, "rate limit factor changed");
  assert.equal(logs[0].reason, "errorRate 0.4 > 0.05");
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(logs[0])));
});

Deno.test("AdaptiveLimit recovers step by step once signals are healthy", async () => {
  const clock = new FakeClock();
  const adaptive = new AdaptiveLimit({
    clock,
    recoveryIntervalMs: 10_000,
    recoveryStep: 0.25,
    log: () => {},
  });
  adaptive.observe({ p95LatencyMs: 5000 });
  assert.equal(adaptive.factor, 0.5);
  const healthy = { errorRate: 0, p95LatencyMs: 80, dbSaturation: 0.2 };
  adaptive.observe(healthy);
  await clock.advance(9_999);
  assert.equal(adaptive.observe(healthy), 0.5);
  await clock.advance(1);
  assert.equal(adaptive.observe(healthy), 0.75);
  await clock.advance(5_000);
  assert.equal(adaptive.observe(healthy), 0.75);
  await clock.advance(5_000);
  assert.equal(adaptive.observe(healthy), 1);
  await clock.advance(60_000);
  assert.equal(adaptive.observe(healthy), 1);
  assert.equal(adaptive.changes.at(-1)?.reason, "recovery");
});

Deno.test("AdaptiveLimit restarts the recovery wait when a breach interrupts it", async () => {
  const clock = new FakeClock();
  const adaptive = new AdaptiveLimit({
    clock,
    cooldownMs: 0,
    recoveryIntervalMs: 10_000,
    log: () => {},
  });
  adaptive.observe({ errorRate: 1 });
  adaptive.observe({});
  await clock.advance(8_000);
  adaptive.observe({ errorRate: 1 });
  assert.equal(adaptive.factor, 0.25);
  await clock.advance(1);
  adaptive.observe({});
  await clock.advance(9_000);
  assert.equal(adaptive.observe({}), 0.25);
});

Deno.test("AdaptiveLimit rejects a floor outside 0.1..1", () => {
  assert.throws(() => new AdaptiveLimit({ minFactor: 0.05 }), RangeError);
  assert.throws(() => new AdaptiveLimit({ decrease: 1 }), RangeError);
});
