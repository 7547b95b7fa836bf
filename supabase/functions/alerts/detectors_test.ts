import assert from "node:assert/strict";
import {
  detect,
  levelFactor,
  type LevelSample,
  median,
  robustScore,
  type SeasonalDetector,
} from "./detectors.ts";

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

const MIN = 60_000;
const seasonal: SeasonalDetector = {
  kind: "seasonal",
  direction: "both",
  threshold: 3.5,
  weeks: 4,
  neighbours: 2,
  minSamples: 8,
  minTraffic: 5,
  minRelativeChange: 0.25,
  minDelta: 0,
};
/** Twenty baseline samples around 100 (median 100, MAD 2). */
const usual = [
  96,
  97,
  98,
  98,
  99,
  99,
  99,
  100,
  100,
  100,
  100,
  100,
  101,
  101,
  101,
  102,
  102,
  103,
  104,
  105,
];

/** One sample a minute from `from` to `to` minutes before `at`, value `ratio` × seasonal. */
function samples(at: number, from: number, to: number, ratio: number, seasonal = 100) {
  const out: LevelSample[] = [];
  for (let m = from; m > to; m--) out.push({ at: at - m * MIN, value: ratio * seasonal, seasonal });
  return out;
}

Deno.test("levelFactor() is the median ratio over the window, leaving out the last span", () => {
  const at = 1_000 * MIN;
  const level = { ...seasonal, levelWindowMs: 180 * MIN, levelSkipMs: 30 * MIN };
  // Three hours at 0.7, then a drop to 0.1 in the last 30 minutes: the drop is not the level.
  const recent = [...samples(at, 180, 30, 0.7), ...samples(at, 30, 0, 0.1)];
  const result = levelFactor(level, recent, at);
  assert.equal(result.factor, 0.7);
  assert.equal(result.samples, 150);
  assert.equal(result.undecided, undefined);
  // Older than the window: left out too.
  assert.equal(levelFactor(level, [...samples(at, 400, 180, 0.2), ...recent], at).factor, 0.7);
  // No window: no level.
  assert.deepEqual(levelFactor(seasonal, recent, at), { factor: 1, samples: 0 });
});

Deno.test("levelFactor() is 1 with too few samples, and skips zero and quiet baselines", () => {
  const at = 1_000 * MIN;
  const level = { ...seasonal, levelWindowMs: 180 * MIN, levelSkipMs: 30 * MIN };
  const few = levelFactor(level, samples(at, 50, 30, 0.7), at);
  assert.deepEqual(few, { factor: 1, samples: 20, undecided: "too_few_samples" });
  // A zero baseline has no ratio; a quiet one (under min_traffic) has a ratio that is noise.
  const zero = samples(at, 180, 30, 0, 0).map((s) => ({ ...s, value: 3 }));
  const quiet = samples(at, 180, 30, 3, 2);
  assert.equal(levelFactor(level, [...zero, ...quiet], at).undecided, "too_few_samples");
  assert.equal(levelFactor(level, [...zero, ...samples(at, 100, 30, 0.8)], at).factor, 0.8);
  assert.equal(
    levelFactor({ ...level, levelMinSamples: 100 }, samples(at, 99, 30, 0.8), at)
      .undecided,
    "too_few_samples",
  );
});

Deno.test("levelFactor() is clamped to the bounds", () => {
  const at = 1_000 * MIN;
  const level = { ...seasonal, levelWindowMs: 180 * MIN, levelSkipMs: 30 * MIN };
  assert.equal(levelFactor(level, samples(at, 180, 30, 0), at).factor, 0.5);
  assert.equal(levelFactor(level, samples(at, 180, 30, 5), at).factor, 2);
  const wide = { ...level, levelBounds: [0.2, 4] as const };
  assert.equal(levelFactor(wide, samples(at, 180, 30, 0.3), at).factor, 0.3);
});

Deno.test("detect() seasonal with a level: a holiday is not a drop, a drop on it is", () => {
  // −30 %: unusual for the time of the week, usual for the day's level of 0.7.
  assert.equal(detect(seasonal, 70, [], usual).breach, true);
  const holiday = detect(seasonal, 70, [], usual, 0.7);
  assert.equal(holiday.breach, false);
  assert.equal(holiday.seasonal, 100);
  assert.equal(holiday.level, 0.7);
  assert.ok(Math.abs(holiday.expected! - 70) < 1e-9, String(holiday.expected));
  // A drop on the holiday: unusual against both.
  const drop = detect(seasonal, 30, [], usual, 0.7);
  assert.equal(drop.breach, true);
  assert.ok(drop.score! < -3.5);
  // A sale day at +30 % with direction "above": the level explains it.
  assert.equal(detect({ ...seasonal, direction: "above" }, 130, [], usual, 1.3).breach, false);
});

Deno.test("detect() seasonal with a level does not page on the recovery after a long drop", () => {
  // The level still says 0.5 (a drop that lasted hours); the value is back to the usual: unusual
  // for the level, not for the time of the week.
  const recovered = detect(seasonal, 100, [], usual, 0.5);
  assert.equal(recovered.breach, false);
  // A real spike on top of that low level is unusual against both.
  assert.equal(detect(seasonal, 250, [], usual, 0.5).breach, true);
});

Deno.test("detect() seasonal counts: the spread is at least the Poisson deviation", () => {
  // A quiet night: small integer counts, MAD 1 (ties), far under their noise (√8 ≈ 2.8).
  const night = [7, 8, 8, 8, 8, 8, 9, 9, 9, 9, 8, 8, 7, 10, 8, 9, 8, 6, 12, 9];
  assert.equal(detect({ ...seasonal, minTraffic: 5 }, 16, [], night).breach, true);
  const counted = detect({ ...seasonal, minTraffic: 5, counts: true }, 16, [], night);
  assert.equal(counted.breach, false);
  assert.ok(Math.abs(counted.score! - 8 / Math.sqrt(8)) < 1e-9);
  // A busy hour's outage still breaches with the floor.
  assert.equal(detect({ ...seasonal, counts: true }, 0, [], usual).breach, true);
});

Deno.test("detect() seasonal deep drop: judged against counting noise, not a wide baseline", () => {
  // One baseline week was a holiday (and one had a drop): the spread is wide, the outage's
  // z-score small.
  const mixed = [
    65,
    72,
    80,
    85,
    86,
    99,
    101,
    108,
    111,
    122,
    136,
    141,
    143,
    145,
    158,
    161,
    166,
    168,
    171,
    179,
  ];
  const plain = { ...seasonal, direction: "below" as const, counts: true };
  assert.equal(detect(plain, 0, [], mixed).breach, false);
  const deep = { ...plain, deepDrop: 0.5 };
  assert.equal(detect(deep, 0, [], mixed).breach, true);
  // Above half of the expected: the baseline's spread decides, as before.
  assert.equal(detect(deep, 70, [], mixed).breach, false);
  // Below half of a small count is not significant against its counting noise.
  const small = Array.from({ length: 20 }, (_, i) => 5 + (i % 3));
  assert.equal(detect({ ...deep, minTraffic: 1 }, 2, [], small).breach, false);
  // Without counts a deep drop breaches outright (no noise to judge it against).
  assert.equal(detect({ ...deep, counts: false }, 0, [], mixed).breach, true);
});
