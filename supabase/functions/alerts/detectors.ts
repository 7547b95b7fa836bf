/**
 * The rule kinds' decisions, as pure functions of a value and its history: a static threshold, a
 * z-score over a rolling window, a robust z-score (median and MAD), and a seasonal baseline (the
 * same time of the week over the last weeks, scored robustly). Each answers whether the value is a
 * breach, with the score and the expected value, or that it cannot decide (too few samples), which
 * the state machine treats as "not a breach" rather than guessing.
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
}

/** Every detector. */
export type Detector = StaticDetector | ZScoreDetector | RobustZScoreDetector | SeasonalDetector;

/** Consistency constant of the MAD for normal data (Iglewicz and Hoaglin's modified z-score). */
export const MAD_SCALE = 0.6745;
/** Scale of the mean absolute deviation used when MAD = 0 (IBM SPSS's fallback: 1.253314). */
export const MEAN_AD_SCALE = 1.253314;

/**
 * Decides one value. `history` holds previous values, oldest first (zscore / robust kinds);
 * `baseline` holds the seasonal samples (seasonal kind).
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
      const { center, score } = robustScore(baseline, value);
      if (center < detector.minTraffic) {
        return { breach: false, score, expected: center, undecided: "below_min_traffic" };
      }
      const verdict = judge(detector, value, center, score);
      const relative = center === 0 ? Infinity : Math.abs(value - center) / Math.abs(center);
      return relative < detector.minRelativeChange ? { ...verdict, breach: false } : verdict;
    }
  }
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
  const center = median(samples);
  const mad = median(samples.map((x) => Math.abs(x - center)));
  if (mad > 0) return { center, score: (MAD_SCALE * (value - center)) / mad };
  const meanAd = samples.reduce((a, x) => a + Math.abs(x - center), 0) / samples.length;
  if (meanAd > 0) return { center, score: (value - center) / (MEAN_AD_SCALE * meanAd) };
  return { center, score: null };
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
