/**
 * Shared set-up of the API tests: the dev server on the test Postgres, a superuser connection for
 * fixtures and expectations, users with tokens, and a call helper over supabase-js that returns
 * status, headers and body for errors too.
 * @module
 */
import postgres from "postgres";
import { createClient, FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import { type DevServer, startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";

/** A test user with a client signed in as them. */
export interface TestUser {
  id: string;
  email: string;
  token: string;
  client: SupabaseClient;
}

/** What a call returned. */
export interface CallResult {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Everything an API test needs. */
export interface ApiContext {
  server: DevServer;
  sql: postgres.Sql;
  anon: SupabaseClient;
  service: SupabaseClient;
  alice: TestUser;
  bob: TestUser;
  admin: TestUser;
  /** Unique prefix of this run's fixture rows. */
  tag: string;
  stop(): Promise<void>;
}

/** Calls the api function with supabase-js, returning non-2xx answers instead of throwing. */
export async function call(
  client: SupabaseClient,
  path: string,
  options: { method?: "GET" | "POST"; body?: unknown; headers?: Record<string, string> } = {},
): Promise<CallResult> {
  const { data, error, response } = await client.functions.invoke(path, {
    method: options.method ?? "GET",
    body: options.body as Record<string, unknown> | undefined,
    headers: options.headers,
  });
  if (error) {
    if (error instanceof FunctionsHttpError) {
      const res = error.context as Response;
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
    }
    throw error;
  }
  return { status: response!.status, headers: response!.headers, body: data };
}

async function createUser(
  server: DevServer,
  sql: postgres.Sql,
  email: string,
  appRole?: string,
): Promise<TestUser> {
  const id = crypto.randomUUID();
  await sql`
    insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
    values (${id}, 'authenticated', 'authenticated', ${email},
            ${sql.json(appRole ? { provider: "email", role: appRole } : { provider: "email" })},
            ${sql.json({ full_name: email.split("@")[0] })})`;
  const token = await server.tokenFor({ id, email, appRole });
  const client = createClient(server.url, server.anonKey, {
    global: { headers: { authorization: `Bearer ${token}` } },
    auth: { persistSession: false, autoRefreshToken: false },
  });
  return { id, email, token, client };
}

/** Starts the server (with `env` added to its environment) and creates the users. */
export async function setUp({ env }: { env?: Record<string, string> } = {}): Promise<ApiContext> {
  const url = testDatabaseUrl();
  const server = await startDevServer({ dbUrl: url, env });
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  const tag = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  const opts = { auth: { persistSession: false, autoRefreshToken: false } };
  return {
    server,
    sql,
    tag,
    anon: createClient(server.url, server.anonKey, opts),
    service: createClient(server.url, server.serviceRoleKey, opts),
    alice: await createUser(server, sql, `alice.${tag}@example.com`),
    bob: await createUser(server, sql, `bob.${tag}@example.com`),
    admin: await createUser(server, sql, `admin.${tag}@example.com`, "admin"),
    stop: async () => {
      await sql.end();
      await server.stop();
    },
  };
}

/** A product created for a test, with its stock. */
export interface TestProduct {
  id: number;
  sku: string;
  name: string;
  price_cents: number;
  category_id: number;
  on_hand: number;
}

/** Creates a category (optionally under a parent). */
export async function createCategory(
  sql: postgres.Sql,
  slug: string,
  parentId: number | null = null,
): Promise<number> {
  const [row] = await sql`
    insert into public.categories (name, slug, parent_id) values (${slug}, ${slug}, ${parentId})
    returning id`;
  return Number(row.id);
}

/** Creates an active product with stock. */
export async function createProduct(
  sql: postgres.Sql,
  p: {
    sku: string;
    name: string;
    price_cents: number;
    category_id: number;
    on_hand: number;
    active?: boolean;
  },
): Promise<TestProduct> {
  const [row] = await sql`
    insert into public.products (sku, name, description, price_cents, currency, category_id, active)
    values (${p.sku}, ${p.name}, ${"Test product " + p.name}, ${p.price_cents}, 'EUR',
            ${p.category_id}, ${p.active ?? true})
    returning id`;
  await sql`insert into public.inventory (product_id, on_hand, reserved) values (${row.id}, ${p.on_hand}, 0)`;
  return { id: Number(row.id), ...p };
}
