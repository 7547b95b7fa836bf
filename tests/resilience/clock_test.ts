import assert from "node:assert/strict";
import { FakeClock, realClock } from "@shared/clock.ts";

Deno.test("FakeClock wakes sleepers in time order, including sleeps started meanwhile", async () => {
  const clock = new FakeClock(0);
  const woke: string[] = [];
  clock.sleep(300).then(() => woke.push(`b@${clock.now()}`));
  clock.sleep(100).then(async () => {
    woke.push(`a@${clock.now()}`);
    await clock.sleep(100);
    woke.push(`c@${clock.now()}`);
  });
  await clock.advance(1000);
  assert.deepEqual(woke, ["a@100", "c@200", "b@300"]);
  assert.equal(clock.now(), 1000);
});

Deno.test("FakeClock.sleep() rejects with the abort reason and forgets the sleeper", async () => {
  const clock = new FakeClock(0);
  const controller = new AbortController();
  const sleeping = clock.sleep(1000, controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(sleeping, /stop/);
  assert.equal(clock.pendingSleeps, 0);
  await assert.rejects(clock.sleep(5, controller.signal), /stop/);
});

Deno.test("realClock.sleep() waits and can be aborted", async () => {
  const started = performance.now();
  await realClock.sleep(20);
  assert.ok(performance.now() - started >= 15);
  const controller = new AbortController();
  const sleeping = realClock.sleep(10_000, controller.signal);
  controller.abort(new Error("cancelled"));
  await assert.rejects(sleeping, /cancelled/);
});
