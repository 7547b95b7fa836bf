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
