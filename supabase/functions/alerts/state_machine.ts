/**
 * The life of one series of one rule: inactive → pending → firing → resolved, Prometheus's rules
 * (`for`: how long a breach must last before it fires; `keep_firing_for`: how long a firing alert
 * stays firing after the breach ends), plus `nodata`: a series that stops reporting for
 * `no_data_for` is its own state, not silence (its alert fires, and the threshold alert it replaces
 * resolves). Pure: the evaluator persists the state between evaluations, so a restart neither
 * forgets a pending alert nor fires one twice.
 * @module
 */

/** States of a series. `resolved` lasts one evaluation: the one whose notification says so. */
export type AlertState = "inactive" | "pending" | "firing" | "resolved" | "nodata";

/** What is kept of a series between evaluations (times in ms since the epoch). */
export interface SeriesState {
  state: AlertState;
  /** When the current breach started (pending and firing). */
  activeAt: number | null;
  /** When it started firing. */
  firedAt: number | null;
  /** The last evaluation that breached. */
  lastBreachAt: number | null;
  /** The last evaluation that had a value. */
  lastSeenAt: number | null;
  /** When the last firing ended. */
  resolvedAt: number | null;
  /** When the series stopped reporting, while in `nodata`. */
  nodataSince: number | null;
  /** The last value seen. */
  value: number | null;
}

/** Timing of a rule, in ms. */
export interface StateTiming {
  forMs: number;
  keepFiringForMs: number;
  /** How long a series may stay silent before it is `nodata`; 0 disables no-data alerts. */
  noDataForMs: number;
}

/** One evaluation's input: a breach verdict, or no data at all. */
export type Observation =
  | { at: number; kind: "value"; breach: boolean; value: number }
  | { at: number; kind: "nodata" };

/** The state after one step, and the transition it made if any. */
export interface Step {
  next: SeriesState;
  transition: { from: AlertState; to: AlertState } | null;
}

/** The state of a series never seen. */
export const INITIAL_STATE: SeriesState = Object.freeze({
  state: "inactive",
  activeAt: null,
  firedAt: null,
  lastBreachAt: null,
  lastSeenAt: null,
  resolvedAt: null,
  nodataSince: null,
  value: null,
});

/**
 * Advances `current` by one observation. Observations older than the last one seen change nothing
 * (an instant evaluated twice, or out of order).
 *
 * @example
 * ```ts
 * const timing = { forMs: 0, keepFiringForMs: 0, noDataForMs: 0 };
 * step(INITIAL_STATE, { at: 0, kind: "value", breach: true, value: 1 }, timing).next.state; // "firing"
 * ```
 */
export function step(current: SeriesState, obs: Observation, timing: StateTiming): Step {
  const from = current.state;
  const done = (next: SeriesState): Step => ({
    next,
    transition: next.state === from ? null : { from, to: next.state },
  });

  if (obs.kind === "nodata") {
    if (from === "nodata" || timing.noDataForMs <= 0) return done(current);
    const silentSince = current.lastSeenAt;
    if (silentSince === null || obs.at - silentSince < timing.noDataForMs) return done(current);
    return done({
      ...current,
      state: "nodata",
      nodataSince: silentSince,
      activeAt: null,
      firedAt: null,
      resolvedAt: from === "firing" ? obs.at : current.resolvedAt,
    });
  }

  if (current.lastSeenAt !== null && obs.at <= current.lastSeenAt) {
    return { next: current, transition: null };
  }
  const seen = { ...current, lastSeenAt: obs.at, value: obs.value, nodataSince: null };
  const base = from === "nodata" || from === "resolved" ? "inactive" : from;

  if (obs.breach) {
    const activeAt = base === "pending" || base === "firing" ? current.activeAt ?? obs.at : obs.at;
    const firing = base === "firing" || obs.at - activeAt >= timing.forMs;
    return done({
      ...seen,
      state: firing ? "firing" : "pending",
      activeAt,
      lastBreachAt: obs.at,
      firedAt: firing ? current.firedAt ?? (base === "firing" ? activeAt : obs.at) : null,
    });
  }
  if (base === "firing") {
    const lastBreach = current.lastBreachAt ?? obs.at;
    if (obs.at - lastBreach < timing.keepFiringForMs) return done({ ...seen, state: "firing" });
    return done({ ...seen, state: "resolved", activeAt: null, firedAt: null, resolvedAt: obs.at });
  }
  return done({ ...seen, state: "inactive", activeAt: null, firedAt: null });
}
