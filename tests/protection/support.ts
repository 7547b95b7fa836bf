/**
 * Shared set-up of the protection tests: dev servers started as a developer starts them (with
 * extra environment), the test cluster of `deno task test` that a test may stop for a while,
 * a local redis-server behind the Upstash proxy, users and stocked products, and a request helper
 * that returns status, headers, body and how long the answer took.
 * @module
 */
import postgres from "postgres";
import { PgCluster } from "../../scripts/lib/pg_cluster.ts";
import { type LocalRedis, startLocalRedis } from "../../scripts/lib/redis.ts";
import { type DevServer, startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";

export { waitFor } from "../_support/wait.ts";

/** redis-server port of these tests (PROTECTION_REDIS_PORT overrides). */
export const REDIS_PORT = Number(Deno.env.get("PROTECTION_REDIS_PORT") ?? 56479);
/** Upstash proxy port of these tests (PROTECTION_PROXY_PORT overrides). */
export const PROXY_PORT = Number(Deno.env.get("PROTECTION_PROXY_PORT") ?? 58179);

/** Starts redis-server and the Upstash proxy on the test ports. */
export function testRedis(): Promise<LocalRedis> {
  return startLocalRedis({ redisPort: REDIS_PORT, proxyPort: PROXY_PORT });
}

/** Environment pointing a dev server at `redis` (breaker store, and the backend if asked). */
export function upstashEnv(redis: LocalRedis): Record<string, string> {
  return { UPSTASH_REDIS_REST_URL: redis.url, UPSTASH_REDIS_REST_TOKEN: redis.token };
}

/** Starts a dev server on the test database with `env`. */
export function startServer(env: Record<string, string>): Promise<DevServer> {
  return startDevServer({ dbUrl: testDatabaseUrl(), env });
}

/** A superuser connection to the test database for fixtures. */
export function fixtureDb(): postgres.Sql {
  return postgres(testDatabaseUrl(), { max: 2, onnotice: () => {} });
}

/** The test cluster of `deno task test` (TEST_PG_DATA_DIR, TEST_PG_PORT). */
export function testCluster(): PgCluster {
  const dataDir = Deno.env.get("TEST_PG_DATA_DIR");
  const port = Number(Deno.env.get("TEST_PG_PORT"));
  if (!dataDir || !port) {
    throw new Error("TEST_PG_DATA_DIR and TEST_PG_PORT are not set: run with `deno task test`");
  }
  return new PgCluster({ dataDir, port });
}

/** A client address nobody else uses (198.18.0.0/15, the benchmarking range). */
export function uniqueIp(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `198.${18 + (a & 1)}.${b}.${c === 0 ? 1 : c}`;
}

/** What a request got. */
export interface Answer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
  /** Time to the full answer, in ms. */
  ms: number;
}

/** Options of {@linkcode request}. */
export interface RequestOptions {
  method?: "GET" | "POST";
  /** Bearer token; the anon key when absent. */
  token?: string;
  /** `X-Forwarded-For` as the trusted proxy would send it. */
  ip?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Calls `/functions/v1/<path>` on `server`.
 *
 * @example
 * ```ts
 * const res = await request(server, "api/v1/categories", { ip: uniqueIp() });
 * ```
 */
export async function request(
  server: DevServer,
  path: string,
  { method = "GET", token, ip, body, headers = {} }: RequestOptions = {},
): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${server.url}/functions/v1/${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token ?? server.anonKey}`,
      ...(ip ? { "x-forwarded-for": ip } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? JSON.parse(text) : null,
    ms: performance.now() - started,
  };
}

/** A signed-in user of a test. */
export interface TestUser {
  id: string;
  token: string;
}

/** Creates a user in auth.users and signs a token for them (an admin with `appRole: "admin"`). */
export async function createUser(
  server: DevServer,
  sql: postgres.Sql,
  appRole?: string,
): Promise<TestUser> {
  const id = crypto.randomUUID();
  const email = `protection.${id.slice(0, 8)}@example.com`;
  await sql`
    insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
    values (${id}, 'authenticated', 'authenticated', ${email},
            ${sql.json(appRole ? { provider: "email", role: appRole } : { provider: "email" })},
            ${sql.json({ full_name: "Protection test" })})`;
  return { id, token: await server.tokenFor({ id, email, appRole }) };
}

/** Creates an active product with plenty of stock; returns its id. */
export async function createProduct(sql: postgres.Sql): Promise<number> {
  const tag = crypto.randomUUID().slice(0, 8).toUpperCase();
  const [category] = await sql`
    insert into public.categories (name, slug) values (${`protection ${tag}`}, ${`protection-${tag.toLowerCase()}`})
    returning id`;
  const [product] = await sql`
    insert into public.products (sku, name, description, price_cents, currency, category_id, active)
    values (${`PROT-${tag}`}, ${`Protection ${tag}`}, 'Rate-limit test product', 500, 'EUR',
            ${category.id}, true)
    returning id`;
  await sql`insert into public.inventory (product_id, on_hand, reserved)
            values (${product.id}, 100000, 0)`;
  return Number(product.id);
}

/** The JSON log lines of a server whose `msg` is `msg`. */
export function logLines(server: DevServer, msg: string): Record<string, unknown>[] {
  return server.output().split("\n")
    .filter((line) => line.startsWith("{") && line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line));
}

/** The startup line saying what protection is in force. */
export function protectionLine(server: DevServer): Record<string, unknown> {
  const [line] = logLines(server, "api protection in force");
  if (!line) throw new Error(`no protection line in the server output:\n${server.output()}`);
  return line;
}

/** Percentile of `values` (nearest rank). */
export function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}
