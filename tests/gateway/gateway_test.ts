import assert from "node:assert/strict";
import { SignJWT, UnsecuredJWT } from "jose";
import { startGateway } from "../../scripts/lib/gateway.ts";
import { localApiKeys, signJwt } from "../../scripts/lib/local_keys.ts";
import { waitFor } from "../_support/wait.ts";
import { slowArrivals } from "./fixtures/echo/app.ts";

const SECRET = "test-secret-with-at-least-32-characters-for-hs256";

async function withGateway(fn: (base: string) => Promise<void>) {
  const gateway = await startGateway({
    port: 0,
    jwtSecret: SECRET,
    accessLog: false,
    functions: [{
      name: "echo",
      verifyJwt: true,
      appModule: new URL("./fixtures/echo/app.ts", import.meta.url),
    }],
  });
  try {
    await fn(`${gateway.url}/functions/v1`);
  } finally {
    await gateway.shutdown();
  }
}

async function expectUnauthorized(res: Response, detail: RegExp) {
  assert.equal(res.status, 401);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assert.equal(body.type, "https://comptoir.dev/problems/unauthorized");
  assert.match(body.detail, detail);
}

Deno.test("gateway forwards /functions/v1/<name>/… as /<name>/… with the query", async () => {
  const { anon } = await localApiKeys(SECRET);
  await withGateway(async (base) => {
    const res = await fetch(`${base}/echo/a/b?x=1&y=2`, {
      headers: { authorization: `Bearer ${anon}` },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.path, "/echo/a/b");
    assert.equal(new URL(body.url).search, "?x=1&y=2");
    assert.equal(body.authorization, `Bearer ${anon}`);
  });
});

Deno.test("gateway passes a request body through unchanged", async () => {
  const { anon } = await localApiKeys(SECRET);
  const body = JSON.stringify({ items: [{ sku: "ÉTÉ-1", quantity: 2 }], note: "x".repeat(5000) });
  await withGateway(async (base) => {
    const res = await fetch(`${base}/echo/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${anon}`, "content-type": "application/json" },
      body,
    });
    assert.equal(res.status, 200);
    const echoed = await res.json();
    assert.equal(echoed.method, "POST");
    assert.equal(echoed.body, body);
  });
});

Deno.test("gateway refuses a missing token with 401 problem+json", async () => {
  await withGateway(async (base) => {
    await expectUnauthorized(await fetch(`${base}/echo`), /Missing authorization/);
  });
});

Deno.test("gateway refuses an expired token", async () => {
  const now = Math.floor(Date.now() / 1000);
  const expired = await new SignJWT({ role: "anon" })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt(now - 7200)
    .setExpirationTime(now - 3600)
    .sign(new TextEncoder().encode(SECRET));
  await withGateway(async (base) => {
    const res = await fetch(`${base}/echo`, { headers: { authorization: `Bearer ${expired}` } });
    await expectUnauthorized(res, /expired/);
  });
});

Deno.test("gateway refuses a token signed with another secret", async () => {
  const forged = await signJwt(
    { role: "service_role" },
    "another-secret-that-is-at-least-32-chars!!",
  );
  await withGateway(async (base) => {
    const res = await fetch(`${base}/echo`, { headers: { authorization: `Bearer ${forged}` } });
    await expectUnauthorized(res, /signature/);
  });
});

Deno.test("gateway refuses a tampered payload", async () => {
  const { anon } = await localApiKeys(SECRET);
  const [header, , signature] = anon.split(".");
  const payload = btoa(JSON.stringify({ role: "service_role", iss: "supabase-demo" }))
    .replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  await withGateway(async (base) => {
    const res = await fetch(`${base}/echo`, {
      headers: { authorization: `Bearer ${header}.${payload}.${signature}` },
    });
    await expectUnauthorized(res, /signature/);
  });
});

Deno.test("gateway refuses an unsigned alg:none token", async () => {
  const unsigned = new UnsecuredJWT({ role: "service_role" }).setIssuedAt().encode();
  await withGateway(async (base) => {
    const res = await fetch(`${base}/echo`, { headers: { authorization: `Bearer ${unsigned}` } });
    await expectUnauthorized(res, /invalid|not allowed/);
  });
});

Deno.test("gateway lets a CORS preflight through without a token", async () => {
  await withGateway(async (base) => {
    const res = await fetch(`${base}/echo/orders`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, apikey, content-type, x-client-info",
      },
    });
    await res.body?.cancel();
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
  });
});

Deno.test("gateway answers 404 problem+json for an unknown function or path", async () => {
  await withGateway(async (base) => {
    const unknown = await fetch(`${base}/nope`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.headers.get("content-type"), "application/problem+json");
    await unknown.body?.cancel();
    const outside = await fetch(base.replace("/functions/v1", "/rest/v1/products"));
    assert.equal(outside.status, 404);
    await outside.body?.cancel();
  });
});

Deno.test("gateway gives every request an id and passes a caller's id on", async () => {
  const { anon } = await localApiKeys(SECRET);
  await withGateway(async (base) => {
    const given = await fetch(`${base}/echo`, {
      headers: { authorization: `Bearer ${anon}`, "x-request-id": "req-42" },
    });
    assert.equal((await given.json()).request_id, "req-42");
    assert.equal(given.headers.get("x-request-id"), "req-42");
    const fresh = await fetch(`${base}/echo`, { headers: { authorization: `Bearer ${anon}` } });
    const id = (await fresh.json()).request_id;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(fresh.headers.get("x-request-id"), id);
  });
});

Deno.test("gateway shutdown lets an in-flight request finish", async () => {
  const { anon } = await localApiKeys(SECRET);
  const gateway = await startGateway({
    port: 0,
    jwtSecret: SECRET,
    accessLog: false,
    functions: [{
      name: "echo",
      verifyJwt: true,
      appModule: new URL("./fixtures/echo/app.ts", import.meta.url),
    }],
  });
  const arrived = slowArrivals.count;
  const inFlight = fetch(`${gateway.url}/functions/v1/echo/slow`, {
    headers: { authorization: `Bearer ${anon}` },
  });
  await waitFor(
    "the slow request to reach the function",
    () => slowArrivals.count > arrived ? true : undefined,
    { intervalMs: 5 },
  );
  const stopped = gateway.shutdown();
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.equal((await res.json()).path, "/echo/slow");
  await stopped;
  await assert.rejects(fetch(`${gateway.url}/functions/v1/echo`));
});

Deno.test("gateway passes the connection's peer address on, as Deno.serve(app.fetch) does", async () => {
  const { anon } = await localApiKeys(SECRET);
  await withGateway(async (base) => {
    const res = await fetch(`${base}/echo`, { headers: { authorization: `Bearer ${anon}` } });
    const body = await res.json();
    assert.equal(body.remote_addr?.hostname, "127.0.0.1");
    assert.equal(typeof body.remote_addr?.port, "number");
  });
});

/** A token signed with the gateway's secret, with exactly `claims` (no exp unless given). */
function signed(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(
    new TextEncoder().encode(SECRET),
  );
}

Deno.test("gateway refuses validly signed tokens whose claims do not hold", async () => {
  const now = Math.floor(Date.now() / 1000);
  const user = { role: "authenticated", aud: "authenticated", sub: crypto.randomUUID() };
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["no exp", { role: "anon", iat: now }, /exp/],
    ["a user without sub", { ...user, sub: undefined, iat: now, exp: now + 600 }, /sub/],
    [
      "a user without the authenticated audience",
      { ...user, aud: undefined, exp: now + 600 },
      /aud/,
    ],
    ["a user of another audience", { ...user, aud: "other", exp: now + 600 }, /aud/],
    ["iat a year ahead", { role: "anon", iat: now + 365 * 86400, exp: now + 400 * 86400 }, /iat/],
  ];
  await withGateway(async (base) => {
    for (const [what, claims, detail] of cases) {
      const token = await signed(JSON.parse(JSON.stringify(claims)));
      const res = await fetch(`${base}/echo`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 401, what);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", what);
      const body = await res.json();
      assert.match(body.detail, detail, what);
    }
    // Within the clock tolerance, and a well-formed user token, are accepted.
    for (
      const claims of [{ role: "anon", iat: now + 5, exp: now + 600 }, { ...user, exp: now + 600 }]
    ) {
      const res = await fetch(`${base}/echo`, {
        headers: { authorization: `Bearer ${await signed(claims)}` },
      });
      assert.equal(res.status, 200, JSON.stringify(claims));
      await res.body?.cancel();
    }
  });
});

Deno.test("gateway keeps the local anon and service_role keys valid", async () => {
  const { anon, serviceRole } = await localApiKeys(SECRET);
  await withGateway(async (base) => {
    for (const key of [anon, serviceRole]) {
      const res = await fetch(`${base}/echo`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
  });
});

Deno.test("gateway answers nosniff on every response, its own 401 and 404 included", async () => {
  const { anon } = await localApiKeys(SECRET);
  await withGateway(async (base) => {
    const answers = [
      await fetch(`${base}/echo`),
      await fetch(`${base}/nope`, { headers: { authorization: `Bearer ${anon}` } }),
      await fetch(`${base.replace("/functions/v1", "")}/elsewhere`),
      await fetch(`${base}/echo/x`, { headers: { authorization: `Bearer ${anon}` } }),
    ];
    for (const res of answers) {
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", res.url);
      await res.body?.cancel();
    }
  });
});
