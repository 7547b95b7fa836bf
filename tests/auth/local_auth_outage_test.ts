/**
 * The local Auth when its database goes away and comes back: supabase-js gets a retryable 503
 * problem (no crash, no half-made account), and sign-in works again by itself once Postgres is
 * back. Stops and restarts the test cluster, like the fault tests.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { AuthRetryableFetchError, createClient } from "@supabase/supabase-js";
import { startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import { testCluster } from "../protection/support.ts";

Deno.test("local Auth: a database outage is a 503, nothing half-written, back by itself", async () => {
  const cluster = testCluster();
  const url = testDatabaseUrl();
  const server = await startDevServer({
    dbUrl: url,
    env: { SUPABASE_AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS: "1000" },
  });
  const auth = () =>
    createClient(server.url, server.anonKey, {
      auth: { persistSession: false, autoRefreshToken: false },
    }).auth;
  const email = `outage.${Date.now().toString(36)}@example.com`;
  try {
    assert.equal((await auth().signUp({ email, password: "outage-password" })).error, null);

    await cluster.stop();
    const during = `during.${Date.now().toString(36)}@example.com`;
    const signUp = await auth().signUp({ email: during, password: "outage-password" });
    assert.ok(signUp.error instanceof AuthRetryableFetchError, String(signUp.error));
    assert.equal(signUp.error.status, 503);
    const signIn = await auth().signInWithPassword({ email, password: "outage-password" });
    assert.ok(signIn.error instanceof AuthRetryableFetchError, String(signIn.error));
    assert.equal(signIn.error.status, 503);
    const res = await fetch(`${server.url}/auth/v1/token?grant_type=password`, {
      method: "POST",
      headers: { apikey: server.anonKey, "content-type": "application/json" },
      body: JSON.stringify({ email, password: "outage-password" }),
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.ok(Number(res.headers.get("retry-after")) >= 1);
    await res.body?.cancel();

    await cluster.start();
    let back = await auth().signInWithPassword({ email, password: "outage-password" });
    for (let i = 0; back.error && i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      back = await auth().signInWithPassword({ email, password: "outage-password" });
    }
    assert.equal(back.error, null);
    assert.equal(back.data.user!.email, email);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [{ n }] = await sql`select count(*)::int as n from auth.users where email = ${during}`;
      assert.equal(n, 0, "the sign-up refused during the outage created nothing");
    } finally {
      await sql.end();
    }
    assert.doesNotMatch(server.output(), /Uncaught|error: Uncaught/);
  } finally {
    await cluster.start();
    await server.stop();
  }
});
