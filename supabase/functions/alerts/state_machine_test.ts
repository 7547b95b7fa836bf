import assert from "node:assert/strict";
import { type AlertState, INITIAL_STATE, type Observation, step } from "./state_machine.ts";

const MIN = 60_000;

function run(
  breaches: (boolean | null)[],
  timing = { forMs: 2 * MIN, keepFiringForMs: 0, noDataForMs: 0 },
): AlertState[] {
  let state = INITIAL_STATE;
  return breaches.map((breach, i) => {
    const obs: Observation = breach === null
      ? { at: i * MIN, kind: "nodata" }
      : { at: i * MIN, kind: "value", breach, value: breach ? 1 : 0 };
    state = step(state, obs, timing).next;
    return state.state;
  });
}

Deno.test("step() waits `for` before firing and resolves once", () => {
  assert.deepEqual(run([true, true, true, true, false, false]), [
    "pending",
    "pending",
    "firing",
    "firing",
    "resolved",
    "inactive",
  ]);
});

Deno.test("step() drops a pending alert whose breach ends before `for`", () => {
  assert.deepEqual(run([true, false, true, true, true]), [
    "pending",
    "inactive",
    "pending",
    "pending",
    "firing",
  ]);
});

Deno.test("step() keeps a flapping alert firing for keep_firing_for", () => {
  const timing = { forMs: 0, keepFiringForMs: 3 * MIN, noDataForMs: 0 };
  assert.deepEqual(run([true, false, true, false, false, false, false], timing), [
    "firing",
    "firing",
    "firing",
    "firing",
    "firing",
    "resolved",
    "inactive",
  ]);
  // Without keep_firing_for the same signal flaps: two firings, two resolutions.
  assert.deepEqual(run([true, false, true, false], { ...timing, keepFiringForMs: 0 }), [
    "firing",
    "resolved",
    "firing",
    "resolved",
  ]);
});

Deno.test("step() turns a silent series into nodata, then back", () => {
  const timing = { forMs: 0, keepFiringForMs: 0, noDataForMs: 2 * MIN };
  assert.deepEqual(run([false, null, null, null, false], timing), [
    "inactive",
    "inactive",
    "nodata",
    "nodata",
    "inactive",
  ]);
  // A firing series that goes silent: the threshold alert resolves as nodata begins.
  let state = INITIAL_STATE;
  state = step(state, { at: 0, kind: "value", breach: true, value: 1 }, timing).next;
  const silent = step(state, { at: 3 * MIN, kind: "nodata" }, timing);
  assert.deepEqual(silent.transition, { from: "firing", to: "nodata" });
  assert.equal(silent.next.resolvedAt, 3 * MIN);
  // no_data_for 0: silence keeps the state.
  assert.deepEqual(run([true, null, null], { ...timing, noDataForMs: 0 }), [
    "firing",
    "firing",
    "firing",
  ]);
});

Deno.test("step() ignores an instant it has already seen", () => {
  const timing = { forMs: 0, keepFiringForMs: 0, noDataForMs: 0 };
  const first = step(INITIAL_STATE, { at: MIN, kind: "value", breach: true, value: 3 }, timing);
  const again = step(first.next, { at: MIN, kind: "value", breach: false, value: 0 }, timing);
  assert.equal(again.transition, null);
  assert.deepEqual(again.next, first.next);
});
