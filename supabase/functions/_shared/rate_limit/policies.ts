/**
 * Every rate-limit policy of comptoir, declared in one place so that limits are reviewed together
 * and routes refer to them by name. docs/reference/resilience.md explains each choice.
 * @module
 */
import type { RateLimitPolicy } from "./types.ts";

/** A policy as written in the table: its key is its name. */
export type PolicyDefinition = Omit<RateLimitPolicy, "name">;

/**
 * Checks and names a policy table; throws `RangeError` on a limit, window or refill that is not a
 * positive integer, or on `refill` given to a window algorithm.
 *
 * @example
 * ```ts
 * const policies = defineRateLimitPolicies({
 *   search: {
 *     algorithm: "sliding_window",
 *     limit: 60,
 *     windowMs: 60_000,
 *     identity: "ip",
 *     failMode: "open",
 *   },
 * });
 * policies.search.name; // "search"
 * ```
 */
export function defineRateLimitPolicies<const T extends Record<string, PolicyDefinition>>(
  table: T,
): { readonly [K in keyof T]: RateLimitPolicy & { readonly name: K & string } } {
  const named: Record<string, RateLimitPolicy> = {};
  for (const [name, definition] of Object.entries(table)) {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) {
      throw new RangeError(`Policy name must be snake_case, got ${name}`);
    }
    for (const field of ["limit", "windowMs"] as const) {
      const value = definition[field];
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`Policy ${name}: ${field} must be a positive integer, got ${value}`);
      }
    }
    if (definition.refill !== undefined) {
      if (definition.algorithm !== "token_bucket") {
        throw new RangeError(`Policy ${name}: refill applies to token_bucket only`);
      }
      if (!Number.isInteger(definition.refill) || definition.refill < 1) {
        throw new RangeError(`Policy ${name}: refill must be a positive integer`);
      }
    }
    named[name] = Object.freeze({ ...definition, name });
  }
  return Object.freeze(named) as { [K in keyof T]: RateLimitPolicy & { name: K & string } };
}

/** The policy table. */
export const RATE_LIMIT_POLICIES = defineRateLimitPolicies({
  /** Anonymous catalogue browsing, per client address. */
  public_read: {
    algorithm: "sliding_window",
    limit: 120,
    windowMs: 60_000,
    identity: "ip",
    failMode: "open",
  },
  /** Signed-in reads (account, orders, dashboard), per user. */
  user_read: {
    algorithm: "sliding_window",
    limit: 300,
    windowMs: 60_000,
    identity: "user",
    failMode: "open",
  },
  /** Signed-in writes (cart, profile, back-office edits): bursts of 30, 1 per second sustained. */
  user_write: {
    algorithm: "token_bucket",
    limit: 30,
    refill: 10,
    windowMs: 10_000,
    identity: "user",
    failMode: "open",
  },
  /** Order creation / checkout: 5 at once, one more every 12 s. Card testing hides here. */
  checkout: {
    algorithm: "token_bucket",
    limit: 5,
    refill: 1,
    windowMs: 12_000,
    identity: "user",
    failMode: "closed",
  },
  /** CSV/JSON exports: heavy on the database, 20 per hour per user. */
  export: {
    algorithm: "fixed_window",
    limit: 20,
    windowMs: 3_600_000,
    identity: "user",
    failMode: "closed",
    adaptive: false,
  },
  /** Server-to-server integrations authenticated by API key. */
  api_key: {
    algorithm: "sliding_window",
    limit: 1000,
    windowMs: 60_000,
    identity: "api_key",
    failMode: "open",
  },
});
