/**
 * Circuit breaker: closed → open on N consecutive failures or on an error rate over a rolling
 * window (with a minimum volume) → half-open after a pause, where a limited number of probes decide
 * between closed and open again.
 *
 * Written here rather than taken from cockatiel 4.0.0, which was evaluated first: cockatiel keeps
 * its state in the policy object and reads `Date.now()` directly. Its `toJSON()`/`initialState`
 * only hydrate a snapshot at construction, so isolates cannot agree on a live state (edge isolates
 * are many and short-lived: ARCHITECTURE.md), its half-open mode queues callers behind the single
 * probe instead of failing fast, its open error carries no retry delay for `Retry-After`, and its
 * clock cannot be faked. This breaker keeps the state as JSON in a {@linkcode BreakerStore}
 * (Redis in production) with compare-and-set, caching it in module memory for `cacheTtlMs`.
 *
 * Successes of a healthy breaker are counted in memory and flushed with the next store access, so
 * the common path costs no store round trip; failures and probe results are written at once.
 * If the store is unreachable the breaker keeps working on its own copy of the state.
 * @module
 */
import { type Clock, realClock } from "../clock.ts";
import {
  addSuccesses,
  admit,
  type BreakerPolicy,
  type BreakerState,
  type CircuitStatus,
  initialBreakerState,
  record,
  resolveBreakerPolicy,
  type Transition,
} from "./breaker_state.ts";
import { type BreakerStore, MemoryBreakerStore } from "./breaker_store.ts";
import { classify } from "./classify.ts";
import { CircuitOpenError } from "./errors.ts";

/** A state change of one breaker. */
export interface BreakerEvent {
  /** Dependency name. */
  breaker: string;
  from: CircuitStatus;
  to: CircuitStatus;
  /** Why: `consecutive_failures`, `error_rate`, `probe_failed`, `probes_succeeded`, `half_open`. */
  reason: string;
  /** Epoch ms. */
  at: number;
  /** `local`: this isolate made the change; `shared`: it was read from the store. */
  source: "local" | "shared";
}

/** Options of {@linkcode CircuitBreaker}. */
export interface CircuitBreakerOptions extends Partial<BreakerPolicy> {
  /** Where the state is shared; a private in-memory store by default. */
  store?: BreakerStore;
  /** Time source. */
  clock?: Clock;
  /** How long a loaded state is trusted before reading the store again, in ms. Default 1000. */
  cacheTtlMs?: number;
  /** Which failures count against the dependency; default: those {@linkcode classify} retries. */
  isFailure?: (failure: unknown) => boolean;
  /** Receives one structured log record per store problem. */
  log?: (record: Record<string, unknown>) => void;
}

const MAX_CAS_ROUNDS = 5;

/**
 * One breaker per dependency (see {@linkcode BreakerRegistry}).
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker("payments", { failureThreshold: 3, openMs: 10_000 });
 * const res = await breaker.execute(() => fetch("https://payments.example/charge"));
 * ```
 */
export class CircuitBreaker {
  /** Dependency name. */
  readonly name: string;
  /** Effective policy. */
  readonly policy: BreakerPolicy;
  readonly #store: BreakerStore;
  readonly #clock: Clock;
  readonly #cacheTtlMs: number;
  readonly #isFailure: (failure: unknown) => boolean;
  readonly #log: (record: Record<string, unknown>) => void;
  readonly #listeners = new Set<(event: BreakerEvent) => void>();
  #state: BreakerState = initialBreakerState();
  #loadedAt = -Infinity;
  #pendingSuccesses = 0;
  #storeDown = false;

  constructor(name: string, options: CircuitBreakerOptions = {}) {
    const {
      store = new MemoryBreakerStore(),
      clock = realClock,
      cacheTtlMs = 1000,
      isFailure = (failure: unknown) => classify(failure).retryable,
      log = (line: Record<string, unknown>) => console.warn(JSON.stringify(line)),
      ...policy
    } = options;
    this.name = name;
    this.policy = resolveBreakerPolicy(policy);
    this.#store = store;
    this.#clock = clock;
    this.#cacheTtlMs = cacheTtlMs;
    this.#isFailure = isFailure;
    this.#log = log;
  }

  /** Status as last seen by this isolate (no store access). */
  get status(): CircuitStatus {
    return this.#state.status;
  }

  /** Fresh state from the store (for health checks and dashboards). */
  async snapshot(): Promise<BreakerState> {
    await this.#load(true);
    return structuredClone(this.#state);
  }

  /**
   * Milliseconds the breaker will go on refusing calls, 0 when it would admit one now (a probe
   * included). Reads the shared state as `execute()` does, but takes no probe slot and records
   * nothing: for callers that only need to know whether to try — e.g. a rate limiter whose store
   * is the guarded database, whose own slow answers under load say nothing about the database
   * being down.
   *
   * @example
   * ```ts
   * const waitMs = await breaker.refusalMs();
   * if (waitMs > 0) throw new CircuitOpenError(breaker.name, waitMs);
   * ```
   */
  async refusalMs(): Promise<number> {
    await this.#load(false);
    const admission = admit(this.#state, this.#clock.now(), this.policy);
    return admission.verdict === "reject" ? admission.retryAfterMs : 0;
  }

  /**
   * Observes state changes (for metrics and logs); returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const off = breaker.subscribe((e) => console.info(JSON.stringify(e)));
   * ```
   */
  subscribe(listener: (event: BreakerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs `fn` if the breaker admits it, else throws {@linkcode CircuitOpenError} without calling
   * `fn`. A resolved `Response` with a retryable status counts as a failure but is returned.
   */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const admission = await this.#mutate((state, now) => {
      const a = admit(state, now, this.policy);
      const transition: Transition | null = a.next && a.next.status !== state.status
        ? { from: state.status, to: a.next.status, reason: "half_open" }
        : null;
      return { next: a.next, transition, value: a };
    });
    if (admission.verdict === "reject") {
      throw new CircuitOpenError(this.name, admission.retryAfterMs);
    }
    const probe = admission.verdict === "probe";
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      await this.#report(this.#isFailure(error), probe);
      throw error;
    }
    await this.#report(result instanceof Response && this.#isFailure(result), probe);
    return result;
  }

  async #report(failed: boolean, probe: boolean): Promise<void> {
    const cached = this.#state;
    const fresh = this.#clock.now() - this.#loadedAt < this.#cacheTtlMs;
    // A success of a healthy breaker changes nothing anybody needs to see at once.
    if (
      !failed && !probe && cached.status === "closed" && cached.consecutiveFailures === 0 && fresh
    ) {
      this.#pendingSuccesses++;
      return;
    }
    await this.#mutate((state, now) => {
      const r = record(state, now, this.policy, { failed, probe });
      return { next: r.next, transition: r.transition, value: undefined };
    });
  }

  /** Read-modify-write against the store with compare-and-set, folding in pending successes. */
  async #mutate<V>(
    change: (
      state: BreakerState,
      now: number,
    ) => { next: BreakerState | null; transition: Transition | null; value: V },
  ): Promise<V> {
    let result: { next: BreakerState | null; transition: Transition | null; value: V } | undefined;
    for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
      const reloaded = await this.#load(round > 0);
      const now = this.#clock.now();
      const pending = this.#pendingSuccesses;
      const base = addSuccesses(this.#state, now, this.policy, pending);
      result = change(base, now);
      // Batched successes ride along with a write that happens anyway, or with the periodic
      // reload (whose round trip is already paid): never a write of their own per call.
      const next = result.next ?? (reloaded && base !== this.#state ? base : null);
      if (next === null) return result.value;
      const stored = { ...next, version: this.#state.version + 1 };
      const written = await this.#write(stored);
      if (written) {
        this.#pendingSuccesses -= pending;
        this.#state = stored;
        this.#loadedAt = this.#clock.now();
        if (result.transition) this.#emit(result.transition, "local");
        return result.value;
      }
    }
    // Heavy contention: act on the last decision locally rather than fail the call.
    return result!.value;
  }

  /** Refreshes the cached state when stale (or forced); returns whether the store answered. */
  async #load(force: boolean): Promise<boolean> {
    if (!force && this.#clock.now() - this.#loadedAt < this.#cacheTtlMs) return false;
    let loaded: BreakerState | null;
    try {
      loaded = await this.#store.load(this.name);
      this.#storeUp();
    } catch (error) {
      this.#storeFailed("load", error);
      // Ask the store again only after a cache period, not on every call of an outage.
      this.#loadedAt = this.#clock.now();
      return false;
    }
    const next = loaded ?? initialBreakerState();
    const previous = this.#state.status;
    this.#state = next;
    this.#loadedAt = this.#clock.now();
    if (next.status !== previous) {
      this.#emit({ from: previous, to: next.status, reason: next.reason ?? "shared" }, "shared");
    }
    return true;
  }

  async #write(next: BreakerState): Promise<boolean> {
    try {
      const ok = await this.#store.compareAndSet(this.name, next.version - 1, next);
      this.#storeUp();
      return ok;
    } catch (error) {
      this.#storeFailed("write", error);
      // Keep deciding on the local copy until the store is back.
      return true;
    }
  }

  #storeFailed(operation: string, error: unknown): void {
    if (this.#storeDown) return;
    this.#storeDown = true;
    this.#log({
      level: "warn",
      msg: "circuit breaker store unavailable; using local state",
      breaker: this.name,
      store: this.#store.kind,
      operation,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }

  #storeUp(): void {
    if (!this.#storeDown) return;
    this.#storeDown = false;
    this.#log({
      level: "info",
      msg: "circuit breaker store reachable again",
      breaker: this.name,
      store: this.#store.kind,
    });
  }

  #emit(transition: Transition, source: BreakerEvent["source"]): void {
    const event: BreakerEvent = {
      breaker: this.name,
      ...transition,
      at: this.#clock.now(),
      source,
    };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#log({ level: "error", msg: "breaker listener failed", error: String(error) });
      }
    }
  }
}
