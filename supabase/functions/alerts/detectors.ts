/**
 * The rule kinds' decisions, as pure functions of a value and its history: a static threshold, a
 * z-score over a rolling window, a robust z-score (median and MAD), and a seasonal baseline (the
 * same time of the week over the last weeks, scored robustly, optionally scaled by the day's
 * level: {@linkcode levelFactor}). Each answers whether the value is a breach, with the score and
 * the expected value, or that it cannot decide (too few samples), which the state machine treats
 * as "not a breach" rather than guessing.
 * @module
 */

/** Which side of the expected value is a breach. */
export type Direction = "above" | "below" | "both";

/** What a detector concluded for one value. */
export interface Verdict {
  breach: boolean;
  /** The z-score (dynamic kinds) or the value itself (static). */
  score: number | null;
  /** What the detector expected: the threshold, mean or median. */
  expected: number | null;
  /** Why no decision could be made; the value is then not a breach. */
  undecided?: "too_few_samples" | "below_min_traffic";
  /** Seasonal kind: the baseline's median before the level factor (what the evaluator records). */
  seasonal?: number;
  /** Seasonal kind: the level factor applied (1 without one). */
  level?: number;
}

/** A static threshold. */
export interface StaticDetector {
  kind: "static";
  direction: "above" | "below";
  threshold: number;
}

/** A z-score over the previous `window` values. */
export interface ZScoreDetector {
  kind: "zscore";
  direction: Direction;
  /** |z| at or past which a value breaches. */
  threshold: number;
  /** Values of history looked at. */
  window: number;
  /** Fewer values than this: undecided. */
  minSamples: number;
  /** The smallest absolute change that can breach, so a flat history does not page on noise. */
  minDelta: number;
}

/** A robust z-score, 0.6745 · (x − median) / MAD, over the previous `window` values. */
export interface RobustZScoreDetector extends Omit<ZScoreDetector, "kind"> {
  kind: "robust_zscore";
}

/** The same time of week over the last `weeks` weeks, scored robustly. */
export interface SeasonalDetector {
  kind: "seasonal";
  direction: Direction;
  threshold: number;
  /** Weeks of baseline. */
  weeks: number;
  /** Evaluations on each side of the same instant that join the baseline (smooths jitter). */
  neighbours: number;
  minSamples: number;
  /** A baseline median under this is a quiet hour: never a breach. */
  minTraffic: number;
  /** The smallest relative change from the median that can breach (0.3 = 30 %). */
  minRelativeChange: number;
  minDelta: number;
  /**
   * The signal counts events (orders per 5 minutes): its spread is at least the Poisson deviation
   * √expected. The MAD of small integer counts is often 1 (ties), far under their real noise, so
   * without this floor a quiet night pages on a count of 16 against 8. Default false.
   */
  counts?: boolean;
  /**
   * A drop of at least this fraction of the expected (0.5: below half) is judged against the
   * counting noise alone (with `counts`; without it, it breaches outright), not against the
   * baseline's spread, which an unusual past week (a holiday in the baseline) can inflate enough
   * to delay a real outage by minutes. 0 (the default) turns it off.
   */
  deepDrop?: number;
  /**
   * The day's level: the median ratio value / seasonal median over the evaluations from
   * `levelWindowMs` to `levelSkipMs` ago scales the baseline ({@linkcode levelFactor}), and a
   * value breaches only when it is unusual against both the plain and the scaled baseline. A
   * holiday at −30 % or a sale day at +30 % sets its own level within hours; an incident younger
   * than `levelSkipMs` cannot. 0 (the default) turns it off.
   */
  levelWindowMs?: number;
  /** The most recent span left out of the level (default 30 minutes). */
  levelSkipMs?: number;
  /** Fewer ratios than this in the level's span: no level (factor 1). Default 30. */
  levelMinSamples?: number;
  /** The level factor is clamped to these bounds (default [0.5, 2]). */
  levelBounds?: readonly [number, number];
}

/** Every detector. */
export type Detector = StaticDetector | ZScoreDetector | RobustZScoreDetector | SeasonalDetector;

/** Consistency constant of the MAD for normal data (Iglewicz and Hoaglin's modified z-score). */
export const MAD_SCALE = 0.6745;
/** Scale of the mean absolute deviation used when MAD = 0 (IBM SPSS's fallback: 1.253314). */
export const MEAN_AD_SCALE = 1.253314;

/**
 * Decides one value. `history` holds previous values, oldest first (zscore / robust kinds);
 * `baseline` holds the seasonal samples and `level` the day's level factor (seasonal kind; see
 * {@linkcode levelFactor}).
 *
 * @example
 * ```ts
 * detect({ kind: "static", direction: "below", threshold: 1 }, 0).breach; // true
 * ```
 */
export function detect(
  detector: Detector,
  value: number,
  history: readonly number[] = [],
  baseline: readonly number[] = [],
  level = 1,
): Verdict {
  switch (detector.kind) {
    case "static": {
      const breach = detector.direction === "above"
        ? value > detector.threshold
        : value < detector.threshold;
      return { breach, score: value, expected: detector.threshold };
    }
    case "zscore": {
      const window = history.slice(-detector.window);
      if (window.length < Math.max(2, detector.minSamples)) return undecided(null);
      const mean = window.reduce((a, b) => a + b, 0) / window.length;
      const sd = Math.sqrt(window.reduce((a, b) => a + (b - mean) ** 2, 0) / (window.length - 1));
      return judge(detector, value, mean, sd === 0 ? null : (value - mean) / sd);
    }
    case "robust_zscore": {
      const window = history.slice(-detector.window);
      if (window.length < Math.max(3, detector.minSamples)) return undecided(null);
      const { center, score } = robustScore(window, value);
      return judge(detector, value, center, score);
    }
    case "seasonal": {
      if (baseline.length < Math.max(3, detector.minSamples)) return undecided(null);
      const seasonal = median(baseline);
      if (seasonal < detector.minTraffic) {
        const { score } = robustScore(baseline, value);
        return {
          breach: false,
          score,
          expected: seasonal,
          undecided: "below_min_traffic",
          seasonal,
          level,
        };
      }
      const adjusted = { ...judgeSeasonal(detector, value, baseline, level), seasonal, level };
      if (level === 1 || !adjusted.breach) return adjusted;
      // Unusual for the day's level; is it unusual for this time of the week too? A recovery
      // after a long drop (the level still low, the value back to the usual) is not.
      const plain = judgeSeasonal(detector, value, baseline, 1);
      const agree = plain.breach && Math.sign(plain.score ?? value - seasonal) ===
          Math.sign(adjusted.score ?? value - adjusted.expected!);
      return agree ? adjusted : { ...adjusted, breach: false };
    }
  }
}

/** One seasonal decision against `baseline` scaled by `scale`. */
function judgeSeasonal(
  detector: SeasonalDetector,
  value: number,
  baseline: readonly number[],
  scale: number,
): Verdict {
  const samples = scale === 1 ? baseline : baseline.map((x) => x * scale);
  const { center, spread } = robustSpread(samples);
  const floor = detector.counts ? Math.sqrt(Math.max(center, 0)) : 0;
  const relative = center === 0 ? Infinity : Math.abs(value - center) / Math.abs(center);
  const deep = (detector.deepDrop ?? 0) > 0 && value < center && relative >= detector.deepDrop!;
  const sd = deep ? floor : Math.max(spread, floor);
  const verdict = judge(detector, value, center, sd > 0 ? (value - center) / sd : null);
  return relative < detector.minRelativeChange ? { ...verdict, breach: false } : verdict;
}

/** One recorded evaluation of a seasonal series: its value and its seasonal median then. */
export interface LevelSample {
  at: number;
  value: number;
  /** The seasonal median before any level factor ({@linkcode Verdict.seasonal}). */
  seasonal: number;
}

/**
 * The day's level factor at `at`: the median of value / seasonal median over the samples from
 * `levelWindowMs` to `levelSkipMs` ago, clamped to `levelBounds`, in the spirit of Holt-Winters'
 * level term. Samples whose seasonal median is zero or under `minTraffic` (quiet hours: their
 * ratio is noise) are left out; with fewer than `levelMinSamples` left, or without a window,
 * the factor is 1 (`undecided`).
 *
 * @example
 * ```ts
 * const detector = { kind: "seasonal", levelWindowMs: 3 * 3_600_000, minTraffic: 5 } as SeasonalDetector;
 * levelFactor(detector, recent, Date.now()).factor; // 0.7 on a holiday at −30 %
 * ```
 */
export function levelFactor(
  detector: Pick<
    SeasonalDetector,
    "levelWindowMs" | "levelSkipMs" | "levelMinSamples" | "levelBounds" | "minTraffic"
  >,
  samples: readonly LevelSample[],
  at: number,
): { factor: number; samples: number; undecided?: "too_few_samples" } {
  const {
    levelWindowMs = 0,
    levelSkipMs = 30 * 60_000,
    levelMinSamples = 30,
    levelBounds = [0.5, 2],
    minTraffic,
  } = detector;
  if (levelWindowMs <= 0) return { factor: 1, samples: 0 };
  const ratios: number[] = [];
  for (const s of samples) {
    if (s.at < at - levelWindowMs || s.at >= at - levelSkipMs) continue;
    if (!(s.seasonal > 0) || s.seasonal < minTraffic || !Number.isFinite(s.value)) continue;
    ratios.push(s.value / s.seasonal);
  }
  if (ratios.length < Math.max(1, levelMinSamples)) {
    return { factor: 1, samples: ratios.length, undecided: "too_few_samples" };
  }
  const [low, high] = levelBounds;
  return { factor: Math.min(high, Math.max(low, median(ratios))), samples: ratios.length };
}

/**
 * The robust z-score of `value` against `samples`: 0.6745 · (x − median) / MAD; when MAD = 0 (more
 * than half the samples equal), (x − median) / (1.253314 · mean absolute deviation); when that is 0
 * too (all equal), `null`: no spread to scale by.
 */
export function robustScore(
  samples: readonly number[],
  value: number,
): { center: number; score: number | null } {
  const { center, spread } = robustSpread(samples);
  return { center, score: spread > 0 ? (value - center) / spread : null };
}

/**
 * The median of `samples` and their robust standard deviation: MAD / 0.6745; when MAD = 0,
 * 1.253314 · mean absolute deviation; 0 when all are equal.
 */
export function robustSpread(samples: readonly number[]): { center: number; spread: number } {
  const center = median(samples);
  const mad = median(samples.map((x) => Math.abs(x - center)));
  if (mad > 0) return { center, spread: mad / MAD_SCALE };
  const meanAd = samples.reduce((a, x) => a + Math.abs(x - center), 0) / samples.length;
  return { center, spread: meanAd > 0 ? MEAN_AD_SCALE * meanAd : 0 };
}

/** The median of `values` (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function judge(
  detector: { direction: Direction; threshold: number; minDelta: number },
  value: number,
  expected: number,
  score: number | null,
): Verdict {
  const delta = value - expected;
  if (Math.abs(delta) < detector.minDelta || delta === 0) {
    return { breach: false, score, expected };
  }
  // No spread at all (a flat history): any change of at least minDelta is a breach.
  const z = score ?? (delta > 0 ? Infinity : -Infinity);
  const breach = detector.direction === "above"
    ? z >= detector.threshold
    : detector.direction === "below"
    ? z <= -detector.threshold
    : Math.abs(z) >= detector.threshold;
  return { breach, score, expected };
}

function undecided(expected: number | null): Verdict {
  return { breach: false, score: null, expected, undecided: "too_few_samples" };
}
