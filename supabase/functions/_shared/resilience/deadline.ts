/**
 * Per-call timeouts and per-request deadlines, propagated as `AbortSignal`s so that work which is no
 * longer wanted really stops (fetch, postgres.js queries and sleeps all take a signal).
 *
 * Timers come from the injectable {@linkcode Clock} rather than `AbortSignal.timeout()`: a timeout
 * signal can be neither driven by a fake clock nor cancelled, so every finished request would leave
 * a timer armed for the rest of its budget (up to 140 s) in a memory-capped isolate. Signals are
 * combined with `AbortSignal.any()`.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import { DeadlineExceededError, TimeoutError } from "./errors.ts";

/** A signal that aborts after a delay, and the means to disarm its timer early. */
export interface DisposableSignal {
  /** Aborts when the delay passes (or a parent aborts). */
  signal: AbortSignal;
  /** Disarms the timer; call it once the guarded work is over. */
  dispose(): void;
}

/**
 * A signal that aborts with `reason()` after `ms` on `clock`, or earlier when `parent` aborts.
 *
 * @example
 * ```ts
 * const { signal, dispose } = timeoutSignal(2000);
 * try {
 *   await fetch("https://example.com", { signal });
 * } finally {
 *   dispose();
 * }
 * ```
 */
export function timeoutSignal(
  ms: number,
  {
    clock = realClock,
    parent,
    reason = () => new TimeoutError(ms),
  }: { clock?: Clock; parent?: AbortSignal; reason?: () => unknown } = {},
): DisposableSignal {
  const timer = new AbortController();
  const release = new AbortController();
  clock.sleep(ms, release.signal).then(
    () => timer.abort(reason()),
    () => {/* disarmed */},
  );
  const signal = parent ? AbortSignal.any([parent, timer.signal]) : timer.signal;
  return { signal, dispose: () => release.abort() };
}

/** Options of {@linkcode Deadline.after}. */
export interface DeadlineOptions {
  /** Time source. */
  clock?: Clock;
  /** Aborts the deadline early, e.g. the request's own signal when the client disconnects. */
  signal?: AbortSignal;
}

/**
 * The time a request has left. Child calls derive their own signal from it so that none outlives
 * the request: each gets min(remaining, its own timeout).
 *
 * @example
 * ```ts
 * const deadline = Deadline.after(5000);
 * try {
 *   await withTimeout((signal) => fetch("https://example.com", { signal }), {
 *     timeoutMs: 2000,
 *     deadline,
 *   });
 * } finally {
 *   deadline.dispose();
 * }
 * ```
 */
export class Deadline {
  /** Epoch ms at which the deadline passes. */
  readonly expiresAt: number;
  /** The total budget the deadline was created with, in ms. */
  readonly budgetMs: number;
  /** Aborts with {@linkcode DeadlineExceededError} when the deadline passes. */
  readonly signal: AbortSignal;
  readonly #clock: Clock;
  readonly #dispose: () => void;

  private constructor(budgetMs: number, clock: Clock, parent?: AbortSignal) {
    this.budgetMs = budgetMs;
    this.expiresAt = clock.now() + budgetMs;
    this.#clock = clock;
    const timer = timeoutSignal(budgetMs, {
      clock,
      parent,
      reason: () => new DeadlineExceededError(budgetMs),
    });
    this.signal = timer.signal;
    this.#dispose = timer.dispose;
  }

  /** A deadline `budgetMs` from now. */
  static after(budgetMs: number, { clock = realClock, signal }: DeadlineOptions = {}): Deadline {
    if (!(budgetMs >= 0)) throw new RangeError(`Deadline must be >= 0 ms, got ${budgetMs}`);
    return new Deadline(budgetMs, clock, signal);
  }

  /** Milliseconds left (0 once passed). */
  remainingMs(): number {
    return Math.max(0, this.expiresAt - this.#clock.now());
  }

  /** Whether the deadline passed or was aborted. */
  get expired(): boolean {
    return this.signal.aborted || this.remainingMs() === 0;
  }

  /** Throws the abort reason (or {@linkcode DeadlineExceededError}) if no time is left. */
  throwIfExpired(): void {
    this.signal.throwIfAborted();
    if (this.remainingMs() === 0) throw new DeadlineExceededError(this.budgetMs);
  }

  /** Disarms the timer once the request is over. */
  dispose(): void {
    this.#dispose();
  }
}

/** Options of {@linkcode withTimeout}. */
export interface WithTimeoutOptions {
  /** This call's own timeout in ms; unlimited when omitted (the deadline still applies). */
  timeoutMs?: number;
  /** The request deadline this call must not outlive. */
  deadline?: Deadline;
  /** Another signal that cancels the call (e.g. the retry loop's). */
  signal?: AbortSignal;
  /** Time source. */
  clock?: Clock;
}

/**
 * Runs `fn` with a signal that aborts after min(`timeoutMs`, deadline's remaining time). The
 * promise settles as soon as the signal aborts — with {@linkcode TimeoutError} for the call's own
 * timeout, {@linkcode DeadlineExceededError} for the request deadline, or the caller's reason —
 * even if `fn` ignores the signal.
 *
 * @example
 * ```ts
 * const rows = await withTimeout((signal) => fetch("https://example.com", { signal }), {
 *   timeoutMs: 1500,
 * });
 * ```
 */
export async function withTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  { timeoutMs, deadline, signal, clock = realClock }: WithTimeoutOptions = {},
): Promise<T> {
  deadline?.throwIfExpired();
  signal?.throwIfAborted();
  const parents = [deadline?.signal, signal].filter((s): s is AbortSignal => s !== undefined);
  const remaining = deadline?.remainingMs() ?? Infinity;
  // Only arm a timer of our own when it is tighter than the deadline, so the abort reason says
  // which limit was hit.
  const own = timeoutMs !== undefined && timeoutMs < remaining
    ? timeoutSignal(timeoutMs, { clock })
    : undefined;
  if (own) parents.push(own.signal);
  const combined = parents.length === 0
    ? new AbortController().signal
    : parents.length === 1
    ? parents[0]
    : AbortSignal.any(parents);

  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(combined.reason);
    combined.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([fn(combined), aborted]);
  } catch (error) {
    if (combined.aborted) throw combined.reason;
    throw error;
  } finally {
    if (onAbort) combined.removeEventListener("abort", onAbort);
    aborted.catch(() => {/* settled or abandoned */});
    own?.dispose();
  }
}
