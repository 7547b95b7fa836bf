/**
 * One evaluation of one series of one rule: the rule's detector decides the value against its
 * history or seasonal baseline (scaled by the day's level when the rule has one), and the state
 * machine moves on. Shared by the scheduled evaluator
 * and the replay harness of `deno task bench:alerts`, so the benchmark measures this exact code.
 * @module
 */
import { detect, levelFactor, type LevelSample, type Verdict } from "./detectors.ts";
import type { Rule } from "./rules.ts";
import { type SeriesState, type Step, step } from "./state_machine.ts";

/** What the evaluation of one series saw and did. */
export interface SeriesEvaluation {
  verdict: Verdict | null;
  step: Step;
}

/** Inputs of one series at one instant. */
export interface SeriesInput {
  at: number;
  /** The value now, or null when the series did not report. */
  value: number | null;
  /** Previous values, oldest first (rolling-window kinds). */
  history?: readonly number[];
  /** Seasonal samples (seasonal kind). */
  baseline?: readonly number[];
  /** The series' recent evaluations with their seasonal medians (seasonal kind with a level). */
  recent?: readonly LevelSample[];
}

/**
 * Evaluates `input` for `rule` from `state`.
 *
 * @example
 * ```ts
 * const { step } = evaluateSeries(rule, INITIAL_STATE, { at: Date.now(), value: 0 });
 * step.next.state; // "firing" for a static "below 1" rule without `for`
 * ```
 */
export function evaluateSeries(
  rule: Pick<Rule, "detector" | "forMs" | "keepFiringForMs" | "noDataForMs">,
  state: SeriesState,
  { at, value, history = [], baseline = [], recent = [] }: SeriesInput,
): SeriesEvaluation {
  const timing = {
    forMs: rule.forMs,
    keepFiringForMs: rule.keepFiringForMs,
    noDataForMs: rule.noDataForMs,
  };
  if (value === null || !Number.isFinite(value)) {
    return { verdict: null, step: step(state, { at, kind: "nodata" }, timing) };
  }
  const level = rule.detector.kind === "seasonal"
    ? levelFactor(rule.detector, recent, at).factor
    : 1;
  const verdict = detect(rule.detector, value, history, baseline, level);
  return {
    verdict,
    step: step(state, { at, kind: "value", breach: verdict.breach, value }, timing),
  };
}

/**
 * The instants whose values form the seasonal baseline of `at`: the same time of the week over
 * the last `weeks` weeks, `neighbours` evaluations (of `stepMs`) on each side.
 */
export function seasonalInstants(
  at: number,
  weeks: number,
  neighbours: number,
  stepMs = 60_000,
): number[] {
  const WEEK = 7 * 86_400_000;
  const out: number[] = [];
  for (let w = 1; w <= weeks; w++) {
    for (let n = -neighbours; n <= neighbours; n++) out.push(at - w * WEEK + n * stepMs);
  }
  return out;
}
