/**
 * Where circuit breaker state lives so that every isolate of a function sees the same breaker:
 * a store keeps one {@linkcode BreakerState} per dependency with optimistic concurrency (a write
 * succeeds only if nobody wrote since the writer read).
 * @module
 */
import type { BreakerState } from "./breaker_state.ts";

/** Shared storage of breaker states. */
export interface BreakerStore {
  /** Name shown in logs. */
  readonly kind: string;
  /** The stored state, or `null` if none (a closed breaker). */
  load(name: string): Promise<BreakerState | null>;
  /**
   * Stores `next` if the stored version is still `expectedVersion` (0 when nothing is stored);
   * returns whether it did.
   */
  compareAndSet(name: string, expectedVersion: number, next: BreakerState): Promise<boolean>;
}

/**
 * Module-memory store: one process only. For tests and for local development without Redis.
 *
 * @example
 * ```ts
 * const store = new MemoryBreakerStore();
 * const breaker = new CircuitBreaker("payments", { store });
 * ```
 */
export class MemoryBreakerStore implements BreakerStore {
  readonly kind = "memory";
  readonly #states = new Map<string, string>();

  load(name: string): Promise<BreakerState | null> {
    const raw = this.#states.get(name);
    return Promise.resolve(raw === undefined ? null : JSON.parse(raw) as BreakerState);
  }

  compareAndSet(name: string, expectedVersion: number, next: BreakerState): Promise<boolean> {
    const raw = this.#states.get(name);
    const version = raw === undefined ? 0 : (JSON.parse(raw) as BreakerState).version;
    if (version !== expectedVersion) return Promise.resolve(false);
    this.#states.set(name, JSON.stringify(next));
    return Promise.resolve(true);
  }
}
