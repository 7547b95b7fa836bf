/**
 * Breaker state in Redis through @upstash/redis, shared by every isolate. Compare-and-set runs as
 * one Lua script so two isolates can never both move the breaker from the same version. Both calls
 * are retried once on a transient failure: a read is idempotent, and a compare-and-set whose
 * answer was lost answers `false` when repeated (the version moved), which callers already handle
 * by reloading.
 * @module
 */
import type { Redis } from "@upstash/redis";
import type { BreakerState } from "./breaker_state.ts";
import type { BreakerStore } from "./breaker_store.ts";
import { retryDependency } from "./dependency_retry.ts";

/** One retry within 300 ms: a breaker check sits in front of every guarded call. */
const STORE_RETRY = { attempts: 2, baseDelayMs: 20, maxDelayMs: 100, budgetMs: 300 } as const;

const CAS_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'v')
if (current or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

/** Options of {@linkcode UpstashBreakerStore}. */
export interface UpstashBreakerStoreOptions {
  /** Key prefix. */
  prefix?: string;
  /** Idle breakers are forgotten (reset to closed) after this long, in ms. Default one day. */
  ttlMs?: number;
}

/**
 * Redis-backed {@linkcode BreakerStore}.
 *
 * @example
 * ```ts
 * const redis = new Redis({ url, token });
 * const breaker = new CircuitBreaker("payments", { store: new UpstashBreakerStore(redis) });
 * ```
 */
export class UpstashBreakerStore implements BreakerStore {
  readonly kind = "upstash";
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(
    redis: Redis,
    { prefix = "comptoir:breaker:", ttlMs = 86_400_000 }: UpstashBreakerStoreOptions = {},
  ) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlMs = ttlMs;
  }

  async load(name: string): Promise<BreakerState | null> {
    const raw = await retryDependency(
      "redis",
      () => this.#redis.hget<unknown>(this.#prefix + name, "s"),
      STORE_RETRY,
    );
    if (raw === null || raw === undefined) return null;
    // @upstash/redis parses JSON values unless automaticDeserialization is off.
    return (typeof raw === "string" ? JSON.parse(raw) : raw) as BreakerState;
  }

  async compareAndSet(name: string, expectedVersion: number, next: BreakerState): Promise<boolean> {
    const stored = await retryDependency(
      "redis",
      () =>
        this.#redis.eval<string[], number>(
          CAS_SCRIPT,
          [this.#prefix + name],
          [
            String(expectedVersion),
            String(next.version),
            JSON.stringify(next),
            String(this.#ttlMs),
          ],
        ),
      STORE_RETRY,
    );
    return Number(stored) === 1;
  }
}
