/**
 * The isolate's circuit breakers: one {@linkcode BreakerRegistry} whose state lives in Redis when
 * Upstash is configured — so every isolate and every instance trips and heals the same breaker —
 * and in module memory otherwise (one process: local development, tests). Every state change is
 * one JSON log line.
 * @module
 */
import type { BreakerEvent } from "./circuit_breaker.ts";
import { BreakerRegistry } from "./breaker_registry.ts";
import { type BreakerStore, MemoryBreakerStore } from "./breaker_store.ts";
import { UpstashBreakerStore } from "./breaker_store_upstash.ts";
import { sharedUpstash, type UpstashConnection } from "./upstash_client.ts";

/**
 * The store for breaker state: Redis through `upstash`, else module memory.
 *
 * @example
 * ```ts
 * breakerStoreFor(null).kind; // "memory"
 * ```
 */
export function breakerStoreFor(upstash: UpstashConnection | null): BreakerStore {
  return upstash ? new UpstashBreakerStore(upstash.redis) : new MemoryBreakerStore();
}

/**
 * One JSON line per breaker transition: `warn` when a breaker opens, `info` otherwise.
 *
 * @example
 * ```ts
 * registry.subscribe(logBreakerEvent);
 * ```
 */
export function logBreakerEvent(event: BreakerEvent): void {
  const record = {
    level: event.to === "open" ? "warn" : "info",
    msg: "circuit breaker state changed",
    breaker: event.breaker,
    from: event.from,
    to: event.to,
    reason: event.reason,
    source: event.source,
    at: new Date(event.at).toISOString(),
  };
  (event.to === "open" ? console.warn : console.info)(JSON.stringify(record));
}

let shared: BreakerRegistry | undefined;

/**
 * The isolate's breaker registry, created on first use from the environment
 * (`UPSTASH_REDIS_REST_URL` / `UPSTASH_REDIS_REST_TOKEN`).
 *
 * @example
 * ```ts
 * await sharedBreakers().get("resend", { failureThreshold: 3 }).execute(() => send(mail));
 * ```
 */
export function sharedBreakers(): BreakerRegistry {
  if (!shared) {
    shared = new BreakerRegistry({ store: breakerStoreFor(sharedUpstash()) });
    shared.subscribe(logBreakerEvent);
  }
  return shared;
}
