/**
 * The isolate's Upstash Redis client, from `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`,
 * shared by the circuit breakers' store and the Upstash rate-limit backend. Each command is cut off
 * after `timeoutMs` (a hung Redis must not hold requests; @upstash/redis does not retry a command
 * whose signal aborted). The library's own retries are off: its default of five network retries
 * with backoff (about 4 s) would outlast every caller's timeout, and it never retries an HTTP 5xx.
 * Callers retry through resilience/dependency_retry.ts instead (network errors and 5xx alike,
 * within the request's deadline, counted under `redis`).
 * @module
 */
import { Redis } from "@upstash/redis";

/** Environment variables read by {@linkcode upstashFromEnv}. */
export const UPSTASH_URL_ENV = "UPSTASH_REDIS_REST_URL";
/** Environment variable holding the REST token. */
export const UPSTASH_TOKEN_ENV = "UPSTASH_REDIS_REST_TOKEN";

/** A configured client and where it points (the URL holds no secret; the token is not kept). */
export interface UpstashConnection {
  redis: Redis;
  /** Origin of the REST endpoint, for logs. */
  origin: string;
}

/** Options of {@linkcode upstashFromEnv}. */
export interface UpstashFromEnvOptions {
  /** Time one command may take, in ms. Default 1000. */
  timeoutMs?: number;
}

/**
 * A client for the Upstash REST endpoint named in `env`, or `null` when it is not configured.
 * Throws `TypeError` when only one of the two variables is set or the URL is not http(s).
 *
 * @example
 * ```ts
 * const upstash = upstashFromEnv();
 * if (upstash) await upstash.redis.ping();
 * ```
 */
export function upstashFromEnv(
  env: Pick<typeof Deno.env, "get"> = Deno.env,
  { timeoutMs = 1000 }: UpstashFromEnvOptions = {},
): UpstashConnection | null {
  const url = env.get(UPSTASH_URL_ENV) ?? "";
  const token = env.get(UPSTASH_TOKEN_ENV) ?? "";
  if (url === "" && token === "") return null;
  if (url === "" || token === "") {
    throw new TypeError(`Set both ${UPSTASH_URL_ENV} and ${UPSTASH_TOKEN_ENV}, or neither`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${UPSTASH_URL_ENV} is not a valid URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new TypeError(`${UPSTASH_URL_ENV} must be an http(s) URL, got ${parsed.protocol}//`);
  }
  const redis = new Redis({
    url,
    token,
    enableTelemetry: false,
    retry: false,
    // A function, so each command gets its own timer; an aborted command throws.
    signal: () => AbortSignal.timeout(timeoutMs),
  });
  return { redis, origin: parsed.origin };
}

let shared: UpstashConnection | null | undefined;

/**
 * The isolate's client, created on first use from the environment; `null` without Upstash.
 *
 * @example
 * ```ts
 * const store = sharedUpstash() ? "redis" : "memory";
 * ```
 */
export function sharedUpstash(): UpstashConnection | null {
  if (shared === undefined) shared = upstashFromEnv();
  return shared;
}
