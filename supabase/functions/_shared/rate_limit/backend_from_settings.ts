/**
 * The rate-limit backend a deployment asked for (see settings.ts): the Postgres one through the
 * database's circuit breaker, or the Upstash one on the isolate's shared Redis client.
 *
 * The Postgres backend has a pool of its own (two connections, application_name
 * `comptoir-rate-limit`): sharing the routes' pool put each counter update in the queue behind
 * the transactions of the requests ahead — fifty concurrent orders on three connections let the
 * limiter's timeout expire on a busy machine, and order creation, which fails closed, answered
 * 503. On its own connections a counter update waits only for other counter updates (a fraction
 * of a millisecond each). Where the functions' pool is a single connection
 * (`COMPTOIR_DB_POOL_MAX=1`: the embedded PGlite serves one connection at a time) the limiter
 * shares it.
 * @module
 */
import { createDb, databaseBreaker, dbUrlFromEnv, getDb, type Sql } from "../db/client.ts";
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
          sql: limiterDb,
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

let limiterSql: Sql | undefined;

/** The limiter's own pool, or the functions' pool when that is a single connection. */
function limiterDb(): Sql {
  if (Deno.env.get("COMPTOIR_DB_POOL_MAX") === "1") return getDb();
  limiterSql ??= createDb({
    url: dbUrlFromEnv().url,
    max: 2,
    applicationName: "comptoir-rate-limit",
  });
  return limiterSql;
}
