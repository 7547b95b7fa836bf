/**
 * Shared setup of the resilience integration tests: the throwaway Postgres named by
 * TEST_DATABASE_URL (with the rate-limit migration applied) and a local redis-server behind the
 * Upstash proxy.
 * @module
 */
import postgres from "postgres";
import { Redis } from "@upstash/redis";
import { type LocalRedis, startLocalRedis } from "../../scripts/lib/redis.ts";

const ROOT = new URL("../../", import.meta.url);
const COMPAT = new URL("supabase/local/compat.sql", ROOT);
const MIGRATION = new URL(
  "supabase/migrations/20261126120000_create_rate_limit_counters.sql",
  ROOT,
);

/** Redis port of the tests (REDIS_TEST_PORT overrides). */
export const REDIS_PORT = Number(Deno.env.get("REDIS_TEST_PORT") ?? 56379);
/** Upstash proxy port of the tests (UPSTASH_PROXY_TEST_PORT overrides). */
export const PROXY_PORT = Number(Deno.env.get("UPSTASH_PROXY_TEST_PORT") ?? 58079);

/**
 * Connects to TEST_DATABASE_URL (a superuser URL), gives the database Supabase's roles (through
 * supabase/local/compat.sql when present) and applies the rate-limit migration.
 */
export async function testDatabase(max = 20): Promise<postgres.Sql> {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) {
    throw new Error(
      "TEST_DATABASE_URL is not set: start a throwaway Postgres 15 (see docs/reference/resilience.md) " +
        "and pass its superuser URL",
    );
  }
  const sql = postgres(url, { max, onnotice: () => {}, prepare: false });
  try {
    if (await exists(COMPAT)) {
      await sql.unsafe(await Deno.readTextFile(COMPAT));
    } else {
      await sql.unsafe(`
        do $$ begin
          if not exists (select 1 from pg_roles where rolname = 'anon') then create role anon nologin; end if;
          if not exists (select 1 from pg_roles where rolname = 'authenticated') then create role authenticated nologin; end if;
          if not exists (select 1 from pg_roles where rolname = 'service_role') then create role service_role nologin bypassrls; end if;
        end $$;`);
    }
    await sql.unsafe(await Deno.readTextFile(MIGRATION));
  } catch (error) {
    await sql.end();
    throw error;
  }
  return sql;
}

/** Starts redis-server + proxy on the test ports. */
export function testRedis(): Promise<LocalRedis> {
  return startLocalRedis({ redisPort: REDIS_PORT, proxyPort: PROXY_PORT });
}

/** An @upstash/redis client for the local proxy, without its long network retries. */
export function upstashClient(local: LocalRedis): Redis {
  return new Redis({
    url: local.url,
    token: local.token,
    enableTelemetry: false,
    retry: { retries: 0 },
  });
}

/** Runs `count` calls at once and returns how many resolved to `true`. */
export async function countAllowed(
  count: number,
  call: () => Promise<boolean>,
): Promise<number> {
  const results = await Promise.all(Array.from({ length: count }, call));
  return results.filter(Boolean).length;
}

/** Waits (real time) until `offsetMs` after the next multiple of `windowMs`. */
export async function alignTo(windowMs: number, offsetMs: number): Promise<void> {
  const now = Date.now();
  let target = Math.floor(now / windowMs) * windowMs + offsetMs;
  if (target <= now) target += windowMs;
  await new Promise((resolve) => setTimeout(resolve, target - now));
}

/** A unique snake_case policy name, so tests never share counters. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
}

async function exists(url: URL): Promise<boolean> {
  try {
    await Deno.stat(url);
    return true;
  } catch {
    return false;
  }
}
