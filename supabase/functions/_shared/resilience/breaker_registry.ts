/**
 * One breaker per dependency name, created on first use with shared defaults and per-dependency
 * overrides, so every caller of "postgres" or "resend" trips and heals the same breaker.
 * @module
 */
import {
  type BreakerEvent,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from "./circuit_breaker.ts";

/**
 * Registry of breakers keyed by dependency name.
 *
 * @example
 * ```ts
 * const breakers = new BreakerRegistry({ store }, { resend: { failureThreshold: 3 } });
 * await breakers.get("resend").execute(() => sendMail());
 * ```
 */
export class BreakerRegistry {
  readonly #defaults: CircuitBreakerOptions;
  readonly #overrides: Record<string, Partial<CircuitBreakerOptions>>;
  readonly #breakers = new Map<string, CircuitBreaker>();
  readonly #listeners = new Set<(event: BreakerEvent) => void>();

  constructor(
    defaults: CircuitBreakerOptions = {},
    overrides: Record<string, Partial<CircuitBreakerOptions>> = {},
  ) {
    this.#defaults = defaults;
    this.#overrides = overrides;
  }

  /**
   * The breaker of `dependency`, created on first use. `options` tune it at creation (the
   * registry's per-dependency overrides still win); later calls return the same breaker whatever
   * options they pass.
   */
  get(dependency: string, options: Partial<CircuitBreakerOptions> = {}): CircuitBreaker {
    let breaker = this.#breakers.get(dependency);
    if (!breaker) {
      breaker = new CircuitBreaker(dependency, {
        ...this.#defaults,
        ...options,
        ...this.#overrides[dependency],
      });
      breaker.subscribe((event) => {
        for (const listener of this.#listeners) listener(event);
      });
      this.#breakers.set(dependency, breaker);
    }
    return breaker;
  }

  /** Breakers created so far. */
  list(): CircuitBreaker[] {
    return [...this.#breakers.values()];
  }

  /** Observes state changes of every breaker, present and future; returns the unsubscribe. */
  subscribe(listener: (event: BreakerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
