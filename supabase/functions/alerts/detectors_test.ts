import assert from "node:assert/strict";
import { detect, median, robustScore, type SeasonalDetector } from "./detectors.ts";

const robust = {
  kind: "robust_zscore" as const,
  direction: "both" as const,
  threshold: 3.5,
  window: 30,
  minSamples: 10,
  minDelta: 0,
};

Deno.test("detect() applies static thresholds strictly", () => {
  const below = { kind: "static" as const, direction: "below" as const, threshold: 5 };
  assert.equal(detect(below, 4).breach, true);
  assert.equal(detect(below, 5).breach, false);
  assert.equal(detect({ ...below, direction: "above" }, 6).breach, true);
});

Deno.test("robustScore() is 0.6745 (x - median) / MAD", () => {
  const { center, score } = robustScore([1, 2, 3, 4, 100], 10);
  assert.equal(center, 3);
  assert.equal(score, (0.6745 * 7) / 1);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

Deno.test("detect() guards MAD = 0 with the mean absolute deviation, then with minDelta", () => {
  // More than half equal: MAD is 0 but the mean absolute deviation is not.
  const history = [10, 10, 10, 10, 10, 10, 10, 10, 11, 30];
  const verdict = detect(robust, 10.5, history);
  assert.equal(verdict.expected, 10);
  assert.ok(verdict.score !== null && Number.isFinite(verdict.score));
  assert.equal(verdict.breach, false);
  // All equal: no spread; a change breaches only when it is at least minDelta.
  const flat = Array(12).fill(7);
  assert.equal(detect({ ...robust, minDelta: 2 }, 8, flat).breach, false);
  assert.equal(detect({ ...robust, minDelta: 2 }, 10, flat).breach, true);
  assert.equal(detect(robust, 7, flat).breach, false);
});

Deno.test("detect() is undecided on empty or short windows", () => {
  assert.equal(detect(robust, 1000, []).undecided, "too_few_samples");
  assert.equal(detect(robust, 1000, [1, 2, 3]).breach, false);
  const z = { ...robust, kind: "zscore" as const };
  assert.equal(detect(z, 1000, [5]).undecided, "too_few_samples");
});

Deno.test("detect() z-score fires on a spike and follows the direction", () => {
  const history = Array.from({ length: 30 }, (_, i) => 100 + (i % 5) - 2);
  const z = { ...robust, kind: "zscore" as const, threshold: 3 };
  assert.equal(detect(z, 140, history).breach, true);
  assert.equal(detect({ ...z, direction: "below" }, 140, history).breach, false);
  assert.equal(detect({ ...z, direction: "below" }, 60, history).breach, true);
});

Deno.test("detect() seasonal ignores quiet hours and small relative changes", () => {
  const seasonal: SeasonalDetector = {
    kind: "seasonal",
    direction: "below",
    threshold: 3,
    weeks: 4,
    neighbours: 2,
    minSamples: 8,
    minTraffic: 5,
    minRelativeChange: 0.3,
    minDelta: 0,
  };
  const busy = [100, 98, 103, 101, 97, 99, 102, 100, 104, 96];
  assert.equal(detect(seasonal, 40, [], busy).breach, true);
  assert.equal(detect(seasonal, 90, [], busy).breach, false, "10 % is under minRelativeChange");
  const quiet = [1, 2, 1, 0, 2, 1, 1, 2];
  const verdict = detect(seasonal, 0, [], quiet);
  assert.equal(verdict.breach, false);
  assert.equal(verdict.undecided, "below_min_traffic");
  assert.equal(detect(seasonal, 40, [], busy.slice(0, 4)).undecided, "too_few_samples");
});
