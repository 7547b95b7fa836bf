import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { createFunctionApp } from "../http/create_app.ts";
import { type DeadlineEnv, getDeadline, requestDeadline } from "./deadline_middleware.ts";

function appWith(clock: FakeClock, seen: { aborted: boolean }) {
  const app = createFunctionApp<DeadlineEnv>("api");
  app.use(requestDeadline({ timeoutMs: 2000, clock }));
  app.get("/slow", async (c) => {
    const signal = c.get("deadline").signal;
    signal.addEventListener("abort", () => seen.aborted = true);
    await clock.sleep(60_000, signal);
    return c.json({ done: true });
  });
  app.get("/fast", (c) => c.json({ remaining: getDeadline(c)?.remainingMs() }));
  return app;
}

Deno.test("requestDeadline() answers 504 problem+json and aborts the handler's work", async () => {
  const clock = new FakeClock();
  const seen = { aborted: false };
  const app = appWith(clock, seen);
  const pending = app.request("/api/slow");
  await clock.waitForSleepers(2);
  await clock.advance(2000);
  const res = await pending;
  assert.equal(res.status, 504);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assert.equal(body.type, "https://comptoir.dev/problems/deadline-exceeded");
  assert.equal(body.deadline_ms, 2000);
  assert.equal(body.instance, "/api/slow");
  assert.equal(seen.aborted, true);
  assert.equal(clock.pendingSleeps, 0);
});

Deno.test("requestDeadline() lets fast requests through and disarms its timer", async () => {
  const clock = new FakeClock();
  const app = appWith(clock, { aborted: false });
  const res = await app.request("/api/fast");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { remaining: 2000 });
  await clock.advance(0);
  assert.equal(clock.pendingSleeps, 0);
});

Deno.test("requestDeadline() rejects a non-positive budget", () => {
  assert.throws(() => requestDeadline({ timeoutMs: 0 }), RangeError);
});
