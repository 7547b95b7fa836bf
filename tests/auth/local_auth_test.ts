/**
 * The local Supabase Auth at /auth/v1, driven only through supabase-js `auth.*`, then the session
 * used on the api: the dev server on the test Postgres.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { decodeJwt } from "jose";
import {
  AuthApiError,
  AuthError,
  AuthSessionMissingError,
  AuthWeakPasswordError,
  createClient,
  type SupabaseClient,
} from "@supabase/supabase-js";
import { startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import { call, createCategory, createProduct } from "../api/_fixtures.ts";

const noStorage = { auth: { persistSession: false, autoRefreshToken: false } };

function client(url: string, key: string): SupabaseClient {
  return createClient(url, key, noStorage);
}

/** A unique address per call, so reruns never meet an account of an earlier run. */
function email(name: string): string {
  return `${name}.${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}@example.com`;
}

function assertAuthError(
  error: unknown,
  status: number,
  code: string | undefined,
): asserts error is AuthError {
  // AuthApiError, or the subclasses auth-js makes of some codes (AuthWeakPasswordError).
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${error}`);
  assert.equal(error.status, status, error.message);
  assert.equal(error.code, code, error.message);
}

Deno.test("local Auth: supabase-js sign-up, sign-in, refresh, user, sign-out and admin", async (t) => {
  const url = testDatabaseUrl();
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  // The per-address limits count every sign-in of this file from 127.0.0.1; this server's are high
  // so steps do not trip them (the limit itself is tested below with a low one).
  const server = await startDevServer({
    dbUrl: url,
    env: { SUPABASE_AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS: "1000" },
  });
  const count = async (table: string) =>
    Number((await sql.unsafe(`select count(*)::int as n from ${table}`))[0].n);
  try {
    const anon = client(server.url, server.anonKey);
    const customerEmail = email("shopper");
    let refreshToken = "";

    await t.step("signUp() creates a confirmed user with a Supabase-shaped session", async () => {
      const { data, error } = await anon.auth.signUp({
        email: customerEmail.toUpperCase(),
        password: "first-password",
        options: { data: { full_name: "Sam Shopper" } },
      });
      assert.equal(error, null);
      assert.ok(data.session && data.user);
      assert.equal(data.user.email, customerEmail);
      assert.ok(data.user.email_confirmed_at);
      assert.equal(data.session.token_type, "bearer");
      assert.equal(data.session.expires_in, 3600);
      assert.match(data.session.refresh_token, /^[a-z0-9]{12}$/);
      const claims = decodeJwt(data.session.access_token);
      assert.equal(claims.sub, data.user.id);
      assert.equal(claims.role, "authenticated");
      assert.equal(claims.aud, "authenticated");
      assert.equal(claims.email, customerEmail);
      assert.equal(claims.iss, `${server.url}/auth/v1`);
      assert.deepEqual(claims.app_metadata, { provider: "email", providers: ["email"] });
      assert.deepEqual(claims.user_metadata, { full_name: "Sam Shopper" });
      assert.equal(claims.aal, "aal1");
      assert.equal((claims.amr as { method: string }[])[0].method, "password");
      assert.equal(claims.is_anonymous, false);
      assert.equal(claims.exp! - claims.iat!, 3600);
      const [row] = await sql`
        select u.encrypted_password, s.user_id
        from auth.users u join auth.sessions s on s.id = ${claims.session_id as string}
        where u.id = ${data.user.id}`;
      assert.match(row.encrypted_password, /^\$2a\$10\$/);
      assert.equal(row.user_id, data.user.id);
      refreshToken = data.session.refresh_token;
    });

    await t.step(
      "bad sign-ups get Supabase Auth's status and code and create nothing",
      async () => {
        const users = await count("auth.users");
        const sessions = await count("auth.sessions");
        const malformed = await anon.auth.signUp({
          email: "not-an-email",
          password: "long-enough",
        });
        assertAuthError(malformed.error, 400, "validation_failed");
        assert.equal(malformed.error.message, "Unable to validate email address: invalid format");
        const short = await anon.auth.signUp({ email: email("short"), password: "abc" });
        assert.ok(short.error instanceof AuthWeakPasswordError);
        assertAuthError(short.error, 422, "weak_password");
        assert.deepEqual(short.error.reasons, ["length"]);
        const taken = await anon.auth.signUp({ email: customerEmail, password: "another-one" });
        assertAuthError(taken.error, 422, "user_already_exists");
        assert.equal(await count("auth.users"), users);
        assert.equal(await count("auth.sessions"), sessions);
      },
    );

    await t.step(
      "a wrong password or an unknown email is invalid_credentials, no session",
      async () => {
        const sessions = await count("auth.sessions");
        const wrong = await anon.auth.signInWithPassword({
          email: customerEmail,
          password: "nope",
        });
        assertAuthError(wrong.error, 400, "invalid_credentials");
        assert.equal(wrong.error.message, "Invalid login credentials");
        const unknown = await anon.auth.signInWithPassword({
          email: email("nobody"),
          password: "whatever1",
        });
        assertAuthError(unknown.error, 400, "invalid_credentials");
        assert.equal(await count("auth.sessions"), sessions);
      },
    );

    await t.step("refresh tokens rotate; the used one works again within the window", async () => {
      const shopper = client(server.url, server.anonKey);
      const first = await shopper.auth.refreshSession({ refresh_token: refreshToken });
      assert.equal(first.error, null);
      const rotated = first.data.session!.refresh_token;
      assert.notEqual(rotated, refreshToken);
      // The client lost the answer: the used token gives back the same child.
      const again = await shopper.auth.refreshSession({ refresh_token: refreshToken });
      assert.equal(again.error, null);
      assert.equal(again.data.session!.refresh_token, rotated);
      refreshToken = rotated;
    });

    await t.step("unknown and malformed refresh tokens are refused", async () => {
      const unknown = await anon.auth.refreshSession({ refresh_token: "abcdefghijkl" });
      assertAuthError(unknown.error, 400, "refresh_token_not_found");
      const malformed = await anon.auth.refreshSession({ refresh_token: "short" });
      assertAuthError(malformed.error, 400, "validation_failed");
    });

    await t.step("getUser() and updateUser() read and change the signed-in user", async () => {
      const shopper = client(server.url, server.anonKey);
      const signIn = await shopper.auth.signInWithPassword({
        email: customerEmail,
        password: "first-password",
      });
      assert.equal(signIn.error, null);
      const { data, error } = await shopper.auth.getUser();
      assert.equal(error, null);
      assert.equal(data.user!.email, customerEmail);
      const same = await shopper.auth.updateUser({ password: "first-password" });
      assertAuthError(same.error, 422, "same_password");
      const weak = await shopper.auth.updateUser({ password: "abc" });
      assertAuthError(weak.error, 422, "weak_password");
      const updated = await shopper.auth.updateUser({
        password: "second-password",
        data: { newsletter: true },
      });
      assert.equal(updated.error, null);
      assert.deepEqual(updated.data.user!.user_metadata, {
        full_name: "Sam Shopper",
        newsletter: true,
      });
      const old = await anon.auth.signInWithPassword({
        email: customerEmail,
        password: "first-password",
      });
      assertAuthError(old.error, 400, "invalid_credentials");
      const fresh = await anon.auth.signInWithPassword({
        email: customerEmail,
        password: "second-password",
      });
      assert.equal(fresh.error, null);
    });

    await t.step(
      "a tampered or foreign token is bad_jwt; the anon key cannot use admin",
      async () => {
        const bad = await anon.auth.getUser("not.a.jwt");
        assertAuthError(bad.error, 403, "bad_jwt");
        const admin = await anon.auth.admin.listUsers();
        assertAuthError(admin.error, 403, "not_admin");
      },
    );

    await t.step("without an apikey the gateway answers 401 before Auth runs", async () => {
      const keyless = createClient(server.url, server.anonKey, {
        ...noStorage,
        global: {
          fetch: (input, init) => {
            const headers = new Headers(init?.headers);
            headers.delete("apikey");
            return fetch(input, { ...init, headers });
          },
        },
      });
      const users = await count("auth.users");
      const { error } = await keyless.auth.signUp({
        email: email("keyless"),
        password: "long-one",
      });
      assertAuthError(error, 401, undefined);
      assert.equal(error.message, "No API key found in request");
      assert.equal(await count("auth.users"), users);
    });

    await t.step(
      "the session places an order on the api; another user cannot read it",
      async () => {
        const tag = `auth${Date.now().toString(36)}`;
        const category = await createCategory(sql, `${tag}-cat`);
        const product = await createProduct(sql, {
          sku: `${tag}-MUG`.toUpperCase(),
          name: `${tag} mug`,
          price_cents: 1500,
          category_id: category,
          on_hand: 10,
        });
        const shopper = client(server.url, server.anonKey);
        await shopper.auth.signInWithPassword({
          email: customerEmail,
          password: "second-password",
        });
        const placed = await call(shopper, "api/v1/orders", {
          method: "POST",
          body: { items: [{ product_id: product.id, quantity: 2 }] },
        });
        assert.equal(placed.status, 201, JSON.stringify(placed.body));
        const mine = await call(shopper, `api/v1/orders/${placed.body.id}`);
        assert.equal(mine.status, 200);
        assert.equal(mine.body.subtotal_cents, 3000);
        const list = await call(shopper, "api/v1/orders");
        assert.ok(list.body.data.some((o: { id: number }) => o.id === placed.body.id));

        const other = client(server.url, server.anonKey);
        const signUp = await other.auth.signUp({
          email: email("other"),
          password: "other-password",
        });
        assert.equal(signUp.error, null);
        const theirs = await call(other, `api/v1/orders/${placed.body.id}`);
        assert.equal(theirs.status, 404);
        const dashboard = await call(shopper, "api/v1/dashboard/sales");
        assert.equal(dashboard.status, 403);
      },
    );

    await t.step("the seeded demo admin signs in and reads the dashboard", async () => {
      assert.match(server.output(), /admin\s+admin@comptoir\.test \/ comptoir-admin/);
      const admin = client(server.url, server.anonKey);
      const { data, error } = await admin.auth.signInWithPassword({
        email: "admin@comptoir.test",
        password: "comptoir-admin",
      });
      assert.equal(error, null);
      assert.equal(data.user!.app_metadata.role, "admin");
      const dashboard = await call(admin, "api/v1/dashboard/sales");
      assert.equal(dashboard.status, 200, JSON.stringify(dashboard.body));
    });

    await t.step(
      "signOut() ends the session: its refresh token and user lookups stop",
      async () => {
        const shopper = client(server.url, server.anonKey);
        const { data } = await shopper.auth.signInWithPassword({
          email: customerEmail,
          password: "second-password",
        });
        const session = data.session!;
        assert.equal((await shopper.auth.signOut({ scope: "local" })).error, null);
        const refreshed = await anon.auth.refreshSession({ refresh_token: session.refresh_token });
        assertAuthError(refreshed.error, 400, "refresh_token_not_found");
        const user = await anon.auth.getUser(session.access_token);
        assert.ok(user.error instanceof AuthSessionMissingError);
      },
    );

    await t.step("the service role manages users through auth.admin", async () => {
      const service = client(server.url, server.serviceRoleKey);
      const address = email("managed");
      const created = await service.auth.admin.createUser({
        email: address,
        password: "managed-password",
        email_confirm: true,
        app_metadata: { role: "admin" },
      });
      assert.equal(created.error, null);
      const id = created.data.user!.id;
      const again = await service.auth.admin.createUser({ email: address, password: "x-password" });
      assertAuthError(again.error, 422, "email_exists");
      const fetched = await service.auth.admin.getUserById(id);
      assert.equal(fetched.data.user!.app_metadata.role, "admin");
      const updated = await service.auth.admin.updateUserById(id, {
        app_metadata: { role: null },
        user_metadata: { team: "ops" },
      });
      assert.equal(updated.error, null);
      assert.equal(updated.data.user!.app_metadata.role, undefined);
      assert.equal(updated.data.user!.app_metadata.provider, "email");
      const page = await service.auth.admin.listUsers({ page: 1, perPage: 2 });
      assert.equal(page.error, null);
      assert.equal(page.data.users.length, 2);
      assert.ok(page.data.total >= 3);
      assert.equal((await service.auth.admin.deleteUser(id)).error, null);
      const gone = await service.auth.admin.getUserById(id);
      assertAuthError(gone.error, 404, "user_not_found");
    });
  } finally {
    await server.stop();
    await sql.end();
  }
});

Deno.test("local Auth: expired tokens, refresh-token reuse past the window, the sign-in limit", async (t) => {
  const url = testDatabaseUrl();
  // One-second access tokens and reuse window; three sign-ins per address per five minutes.
  const server = await startDevServer({
    dbUrl: url,
    env: {
      SUPABASE_AUTH_JWT_EXPIRY: "1",
      SUPABASE_AUTH_REFRESH_TOKEN_REUSE_INTERVAL: "1",
      SUPABASE_AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS: "1000",
    },
  });
  const limited = await startDevServer({
    dbUrl: url,
    env: { SUPABASE_AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS: "3" },
  });
  try {
    const anon = client(server.url, server.anonKey);
    const address = email("brief");
    const { data, error } = await anon.auth.signUp({ email: address, password: "brief-password" });
    assert.equal(error, null);
    const session = data.session!;

    await t.step("an expired access token is bad_jwt on Auth and 401 on the api", async () => {
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const user = await anon.auth.getUser(session.access_token);
      assertAuthError(user.error, 403, "bad_jwt");
      assert.match(user.error.message, /token is expired/);
      const expired = createClient(server.url, server.anonKey, {
        ...noStorage,
        global: { headers: { authorization: `Bearer ${session.access_token}` } },
      });
      assert.equal((await call(expired, "api/v1/orders")).status, 401);
    });

    await t.step("a token reused past the window is refused and ends the session", async () => {
      // A new client per call: one holding an expired session would refresh it first.
      const refresh = (token: string) =>
        client(server.url, server.anonKey).auth.refreshSession({ refresh_token: token });
      const t1 = session.refresh_token;
      const r1 = await refresh(t1);
      assert.equal(r1.error, null);
      const t2 = r1.data.session!.refresh_token;
      const r2 = await refresh(t2);
      assert.equal(r2.error, null);
      const t3 = r2.data.session!.refresh_token;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const reused = await refresh(t1);
      assertAuthError(reused.error, 400, "refresh_token_already_used");
      // Every token of the session was revoked with it, the newest included.
      const newest = await refresh(t3);
      assertAuthError(newest.error, 400, "refresh_token_already_used");
    });

    await t.step(
      "password sign-ins past the per-address limit get 429 over_request_rate_limit",
      async () => {
        const probe = client(limited.url, limited.anonKey);
        const outcomes: (string | undefined)[] = [];
        for (let i = 0; i < 4; i++) {
          const { error } = await probe.auth.signInWithPassword({
            email: address,
            password: "wrong-one",
          });
          outcomes.push(error instanceof AuthApiError ? `${error.status} ${error.code}` : "ok");
        }
        const first429 = outcomes.indexOf("429 over_request_rate_limit");
        assert.ok(first429 >= 0 && first429 <= 3, outcomes.join(", "));
        assert.ok(outcomes.slice(first429).every((o) => o === "429 over_request_rate_limit"));
        // Refused before the password is checked: the right one is refused too.
        const right = await probe.auth.signInWithPassword({
          email: address,
          password: "brief-password",
        });
        assertAuthError(right.error, 429, "over_request_rate_limit");
      },
    );
  } finally {
    await limited.stop();
    await server.stop();
  }
});
