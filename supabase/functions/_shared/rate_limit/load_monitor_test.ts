import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { createFunctionApp } from "../http/create_app.ts";
import { ProblemError } from "../http/problem.ts";
import { AdaptiveLimit } from "./adaptive.ts";
import { LoadMonitor } from "./load_monitor.ts";

function setUp(options: { openBreakers?: () => number } = {}) {
  const clock = new FakeClock(Date.UTC(2026, 10, 26));
  const logs: Record<string, unknown>[] = [];
  const adaptive = new AdaptiveLimit({ clock, log: (r) => logs.push(r) });
  const monitor = new LoadMonitor({ adaptive, clock, ...options });
  return { clock, logs, adaptive, monitor };
}

Deno.test("LoadMonitor gives no error rate or latency below the minimum volume", () => {
  const { monitor, adaptive } = setUp();
  for (let i = 0; i < 19; i++) monitor.record(500, 3000);
  assert.deepEqual(monitor.signals(), { openBreakers: 0 });
  assert.equal(adaptive.factor, 1);
});

Deno.test("LoadMonitor turns a 5xx share over the threshold into a lower factor, logged", async () => {
  const { clock, monitor, adaptive, logs } = setUp();
  for (let i = 0; i < 90; i++) monitor.record(200, 20);
  for (let i = 0; i < 10; i++) monitor.record(503, 2);
  assert.equal(monitor.signals().errorRate, 0.1);
  // Evaluations happen at most once a second: the next request after that triggers one.
  await clock.advance(1000);
  monitor.record(200, 20);
  assert.equal(adaptive.factor, 0.5);
  assert.equal(logs.length, 1);
  assert.equal(logs[0].msg, "rate limit factor changed");
  assert.match(String(logs[0].reason), /^errorRate 0\.099 > 0\.05$/);
});

Deno.test("LoadMonitor estimates p95 latency from its histogram", () => {
  const { monitor } = setUp();
  for (let i = 0; i < 94; i++) monitor.record(200, 40);
  for (let i = 0; i < 6; i++) monitor.record(200, 1800);
  const p95 = monitor.signals().p95LatencyMs!;
  // The 95th of 100 samples is one of the slow ones: inside the (1500, 2000] bucket.
  assert.ok(p95 > 1500 && p95 <= 2000, String(p95));
  const fast = setUp().monitor;
  for (let i = 0; i < 100; i++) fast.record(200, 40);
  const fastP95 = fast.signals().p95LatencyMs!;
  assert.ok(fastP95 > 25 && fastP95 <= 50, String(fastP95));
});

Deno.test("LoadMonitor forgets requests older than its window", async () => {
  const { clock, monitor } = setUp();
  for (let i = 0; i < 50; i++) monitor.record(500, 10);
  await clock.advance(29_000);
  assert.equal(monitor.signals().errorRate, 1);
  await clock.advance(1_000);
  assert.deepEqual(monitor.signals(), { openBreakers: 0 });
});

Deno.test("LoadMonitor reports an open breaker at any volume", async () => {
  let open = 0;
  const { clock, monitor, adaptive } = setUp({ openBreakers: () => open });
  monitor.record(200, 5);
  assert.equal(adaptive.factor, 1);
  open = 1;
  await clock.advance(1000);
  monitor.record(503, 1);
  assert.equal(adaptive.factor, 0.5);
  assert.equal(adaptive.changes[0].reason, "openBreakers 1 > 0");
});

Deno.test("LoadMonitor.middleware() records the status of what runs after it, errors included", async () => {
  const { clock, monitor } = setUp();
  const app = createFunctionApp("api");
  app.get("/ok", monitor.middleware(), async (c) => {
    await clock.advance(120);
    return c.json({ ok: true });
  });
  app.get("/down", monitor.middleware(), () => {
    throw new ProblemError({ type: "dependency-unavailable", status: 503, title: "Unavailable" });
  });
  for (let i = 0; i < 15; i++) assert.equal((await app.request("/api/ok")).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await app.request("/api/down")).status, 503);
  const signals = monitor.signals();
  assert.equal(signals.errorRate, 0.25);
  assert.ok(signals.p95LatencyMs! > 100 && signals.p95LatencyMs! <= 250);
});
