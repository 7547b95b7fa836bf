/**
 * The rate-limit backend a deployment asked for (see settings.ts): the Postgres one through the
 * database's circuit breaker, or the Upstash one on the isolate's shared Redis client.
 *
 * The Postgres backend shares the routes' pool (without their statement metrics): a counter
 * update is one statement in one round trip, and the routes' calls no longer hold a connection
 * for a transaction of several round trips (db/as_caller.ts sends the claims with the query, an
 * order is placed in one statement), so it does not queue behind them. A pool of its own cost a
 * second set of connections per isolate for nothing.
 * @module
 */
import { databaseBreaker, getUnobservedDb } from "../db/client.ts";
import { sharedUpstash } from "../resilience/upstash_client.ts";
import { PostgresRateLimitBackend } from "./postgres_backend.ts";
import type { RateLimitBackendKind } from "./settings.ts";
import type { RateLimitBackend } from "./types.ts";
import { UpstashRateLimitBackend } from "./upstash_backend.ts";

/** A backend and a line describing it for the startup log. */
export interface RateLimitBackendChoice {
  /** `null` when rate limiting is off. */
  backend: RateLimitBackend | null;
  /** Where counters live, e.g. `rate_limit.counters (COMPTOIR_DB_URL)`. */
  store: string;
}

/**
 * Builds the backend of `kind`; nothing connects before the first request.
 *
 * @example
 * ```ts
 * const { backend } = rateLimitBackendFor(rateLimitSettingsFromEnv().backend);
 * ```
 */
export function rateLimitBackendFor(kind: RateLimitBackendKind): RateLimitBackendChoice {
  switch (kind) {
    case "off":
      return { backend: null, store: "none" };
    case "postgres":
      return {
        backend: new PostgresRateLimitBackend({
          sql: getUnobservedDb,
          breaker: databaseBreaker(),
          timeoutMs: POSTGRES_TIMEOUT_MS,
        }),
        store: "rate_limit.counters on the function's database, through the database breaker",
      };
    case "upstash": {
      const upstash = sharedUpstash();
      if (!upstash) throw new TypeError("the upstash rate-limit backend needs Upstash settings");
      return {
        backend: new UpstashRateLimitBackend({ redis: upstash.redis }),
        store: `Upstash Redis at ${upstash.origin}`,
      };
    }
  }
}

/**
 * How long a counter update may take before the policy's fail mode decides. Longer than the
 * Upstash backend's 1 s: the request needs this database anyway, and on a machine short of CPU a
 * 1 s timer fired while the answer sat unread in the event loop, refusing orders for nothing.
 */
const POSTGRES_TIMEOUT_MS = 3000;
