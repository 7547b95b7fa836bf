/**
 * The circuit breaker's state and its transitions as pure functions over plain JSON, so one
 * isolate's decision can be stored, shared and replayed by another (see breaker_store.ts).
 * @module
 */

/** Breaker status. */
export type CircuitStatus = "closed" | "open" | "half_open";

/** Outcome counts of one slice of the rolling window: [start ms, successes, failures]. */
export type Bucket = [start: number, successes: number, failures: number];

/** Serialisable breaker state. */
export interface BreakerState {
  status: CircuitStatus;
  /** Bumped on every stored change; the compare-and-set token. */
  version: number;
  /** Failures in a row while closed. */
  consecutiveFailures: number;
  /** Rolling window while closed, oldest first. */
  buckets: Bucket[];
  /** When the breaker last opened (epoch ms). */
  openedAt: number | null;
  /** When the next probe may go through (epoch ms). */
  openUntil: number | null;
  /** Probes admitted and not yet reported. */
  probesInFlight: number;
  /** Successful probes in the current half-open period. */
  probeSuccesses: number;
  /** When the latest probe was admitted (epoch ms). */
  probeStartedAt: number | null;
  /** Why the breaker last opened. */
  reason: string | null;
}

/** Tuning of one breaker. */
export interface BreakerPolicy {
  /** Open after this many failures in a row. */
  failureThreshold: number;
  /** Open when the failure ratio in the window reaches this (0..1)... */
  errorRateThreshold: number;
  /** ...over this many calls at least. */
  minimumRequests: number;
  /** Length of the rolling window in ms. */
  windowMs: number;
  /** Slices of the rolling window. */
  buckets: number;
  /** How long the breaker stays open before probing, in ms. */
  openMs: number;
  /** Trial calls let through while half-open; all must succeed to close. */
  halfOpenProbes: number;
  /** A probe that has not reported after this long frees its slot (its isolate may be gone). */
  probeTimeoutMs: number;
}

/** Defaults: 5 failures in a row, or ≥50% of ≥20 calls in 60 s; open 30 s; one probe. */
export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  failureThreshold: 5,
  errorRateThreshold: 0.5,
  minimumRequests: 20,
  windowMs: 60_000,
  buckets: 6,
  openMs: 30_000,
  halfOpenProbes: 1,
  probeTimeoutMs: 10_000,
};

/** A state change, for events. */
export interface Transition {
  from: CircuitStatus;
  to: CircuitStatus;
  reason: string;
}

/** Verdict of {@linkcode admit}. */
export interface Admission {
  verdict: "allow" | "probe" | "reject";
  /** For `reject`: ms until a probe may be admitted. */
  retryAfterMs: number;
  /** The state to store, or `null` when unchanged. */
  next: BreakerState | null;
}

/** A fresh, closed breaker state. */
export function initialBreakerState(): BreakerState {
  return {
    status: "closed",
    version: 0,
    consecutiveFailures: 0,
    buckets: [],
    openedAt: null,
    openUntil: null,
    probesInFlight: 0,
    probeSuccesses: 0,
    probeStartedAt: null,
    reason: null,
  };
}

/**
 * Checks a policy's values, filling gaps from {@linkcode DEFAULT_BREAKER_POLICY}.
 *
 * @example
 * ```ts
 * resolveBreakerPolicy({ failureThreshold: 3 }).openMs; // 30000
 * ```
 */
export function resolveBreakerPolicy(partial: Partial<BreakerPolicy> = {}): BreakerPolicy {
  const policy = { ...DEFAULT_BREAKER_POLICY, ...partial };
  const positive: (keyof BreakerPolicy)[] = [
    "failureThreshold",
    "minimumRequests",
    "windowMs",
    "buckets",
    "openMs",
    "halfOpenProbes",
    "probeTimeoutMs",
  ];
  for (const key of positive) {
    if (!(policy[key] > 0)) throw new RangeError(`Breaker ${key} must be > 0, got ${policy[key]}`);
  }
  if (!(policy.errorRateThreshold > 0 && policy.errorRateThreshold <= 1)) {
    throw new RangeError(
      `Breaker errorRateThreshold must be in (0, 1], got ${policy.errorRateThreshold}`,
    );
  }
  return policy;
}

/**
 * Decides whether a call may run now.
 *
 * @example
 * ```ts
 * admit(initialBreakerState(), Date.now(), DEFAULT_BREAKER_POLICY).verdict; // "allow"
 * ```
 */
export function admit(state: BreakerState, now: number, policy: BreakerPolicy): Admission {
  switch (state.status) {
    case "closed":
      return { verdict: "allow", retryAfterMs: 0, next: null };
    case "open": {
      const until = state.openUntil ?? now;
      if (now < until) return { verdict: "reject", retryAfterMs: until - now, next: null };
      return {
        verdict: "probe",
        retryAfterMs: 0,
        next: {
          ...state,
          status: "half_open",
          probesInFlight: 1,
          probeSuccesses: 0,
          probeStartedAt: now,
        },
      };
    }
    case "half_open": {
      const started = state.probeStartedAt ?? now;
      const stale = now - started >= policy.probeTimeoutMs;
      const inFlight = stale ? 0 : state.probesInFlight;
      if (inFlight + state.probeSuccesses < policy.halfOpenProbes) {
        return {
          verdict: "probe",
          retryAfterMs: 0,
          next: { ...state, probesInFlight: inFlight + 1, probeStartedAt: now },
        };
      }
      // The probe settles it: at once if it succeeds, with a new open period if it fails. So a
      // caller is told that period, not the (much longer) time a lost probe holds its slot.
      return {
        verdict: "reject",
        retryAfterMs: Math.max(
          1,
          Math.min(policy.openMs, policy.probeTimeoutMs - (now - started)),
        ),
        next: null,
      };
    }
  }
}

/**
 * Records the outcome of a call admitted as `allow` (`probe: false`) or `probe` (`probe: true`).
 * Outcomes that arrive after another isolate already moved the breaker on are ignored.
 */
export function record(
  state: BreakerState,
  now: number,
  policy: BreakerPolicy,
  outcome: { failed: boolean; probe: boolean },
): { next: BreakerState | null; transition: Transition | null } {
  if (outcome.probe) {
    if (state.status !== "half_open") return { next: null, transition: null };
    if (outcome.failed) return openFrom(state, now, policy, "probe_failed");
    const probeSuccesses = state.probeSuccesses + 1;
    if (probeSuccesses >= policy.halfOpenProbes) {
      return {
        next: { ...initialBreakerState(), version: state.version },
        transition: { from: "half_open", to: "closed", reason: "probes_succeeded" },
      };
    }
    return {
      next: { ...state, probesInFlight: Math.max(0, state.probesInFlight - 1), probeSuccesses },
      transition: null,
    };
  }
  if (state.status !== "closed") return { next: null, transition: null };
  if (!outcome.failed) {
    return { next: addSuccesses(state, now, policy, 1), transition: null };
  }
  const buckets = addToWindow(state.buckets, now, policy, 0, 1);
  const consecutiveFailures = state.consecutiveFailures + 1;
  const counted = { ...state, buckets, consecutiveFailures };
  if (consecutiveFailures >= policy.failureThreshold) {
    return openFrom(counted, now, policy, "consecutive_failures");
  }
  let calls = 0;
  let failures = 0;
  for (const [, s, f] of buckets) {
    calls += s + f;
    failures += f;
  }
  if (calls >= policy.minimumRequests && failures / calls >= policy.errorRateThreshold) {
    return openFrom(counted, now, policy, "error_rate");
  }
  return { next: counted, transition: null };
}

/** Adds `count` successes to a closed breaker's window (a batch flushed by one isolate). */
export function addSuccesses(
  state: BreakerState,
  now: number,
  policy: BreakerPolicy,
  count: number,
): BreakerState {
  if (state.status !== "closed" || count <= 0) return state;
  return {
    ...state,
    consecutiveFailures: 0,
    buckets: addToWindow(state.buckets, now, policy, count, 0),
  };
}

function openFrom(
  state: BreakerState,
  now: number,
  policy: BreakerPolicy,
  reason: string,
): { next: BreakerState; transition: Transition } {
  return {
    next: {
      ...initialBreakerState(),
      version: state.version,
      status: "open",
      openedAt: now,
      openUntil: now + policy.openMs,
      reason,
    },
    transition: { from: state.status, to: "open", reason },
  };
}

function addToWindow(
  buckets: Bucket[],
  now: number,
  policy: BreakerPolicy,
  successes: number,
  failures: number,
): Bucket[] {
  const width = Math.max(1, Math.floor(policy.windowMs / policy.buckets));
  const start = Math.floor(now / width) * width;
  const kept = buckets.filter(([s]) => s > now - policy.windowMs && s !== start);
  const current = buckets.find(([s]) => s === start);
  kept.push([start, (current?.[1] ?? 0) + successes, (current?.[2] ?? 0) + failures]);
  return kept.sort((a, b) => a[0] - b[0]);
}
