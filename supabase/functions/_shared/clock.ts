/**
 * The one clock of the shared library: every time-based module (retry, circuit breaker, deadlines,
 * rate limiting) takes a {@linkcode Clock} so tests drive time with {@linkcode FakeClock} instead of
 * waiting for it.
 * @module
 */

/** Wall-clock time and cancellable waiting. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds; rejects with `signal.reason` as soon as `signal` aborts, and
   * releases its timer then, so an abandoned wait keeps nothing alive.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The real clock: `Date.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * await realClock.sleep(10);
 * ```
 */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};

interface Sleeper {
  due: number;
  seq: number;
  resolve: () => void;
}

/**
 * A clock that only moves when told to; {@linkcode FakeClock.advance} wakes the sleepers whose time
 * has come, in order, letting the code they resume schedule further sleeps inside the same advance.
 *
 * @example
 * ```ts
 * const clock = new FakeClock(0);
 * const done = clock.sleep(100);
 * await clock.advance(100);
 * await done;
 * ```
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #sleepers: Sleeper[] = [];

  /** Starts at `start` ms since the epoch (2026-01-01T00:00:00Z by default). */
  constructor(start: number = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        due: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }

  /** Number of pending sleeps, so tests can wait until the code under test is parked. */
  get pendingSleeps(): number {
    return this.#sleepers.length;
  }

  /**
   * Moves time forward by `ms`, resolving due sleepers one at a time (earliest first) and letting
   * their continuations run before the next one, so chains of sleeps behave as with real time.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#sleepers
        .filter((s) => s.due <= target)
        .sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (!next) break;
      this.#sleepers = this.#sleepers.filter((s) => s !== next);
      this.#now = Math.max(this.#now, next.due);
      next.resolve();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /**
   * Resolves once at least `count` sleeps are pending, so a test can advance time only after the
   * code under test has parked; throws if that does not happen within a few thousand turns.
   */
  async waitForSleepers(count = 1): Promise<void> {
    for (let i = 0; i < 5000; i++) {
      if (this.#sleepers.length >= count) return;
      await settle();
    }
    throw new Error(`Expected ${count} pending sleeps, found ${this.#sleepers.length}`);
  }
}

/** Lets every queued promise continuation run (a macrotask turn flushes the microtask queue). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
