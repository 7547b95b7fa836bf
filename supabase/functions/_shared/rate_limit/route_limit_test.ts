import assert from "node:assert/strict";
import { jwtVerify, SignJWT } from "jose";
import { authenticate, setVerifierForTesting } from "../auth/caller.ts";
import { FakeClock } from "../clock.ts";
import { createFunctionApp } from "../http/create_app.ts";
import { AdaptiveLimit } from "./adaptive.ts";
import { hashApiKey } from "./identity.ts";
import { RateLimiter } from "./limiter.ts";
import { LoadMonitor } from "./load_monitor.ts";
import { MemoryRateLimitBackend } from "./memory_backend.ts";
import { identify, limitRoute } from "./route_limit.ts";
import type { IdentityKind, RateLimitPolicy } from "./types.ts";

const SECRET = new TextEncoder().encode("route-limit-test-secret-of-32-bytes!!");

function token(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(
    SECRET,
  );
}

/** Runs `body` with tokens verified against the test secret. */
async function withTestTokens(body: () => Promise<void>): Promise<void> {
  setVerifierForTesting(async (t) => (await jwtVerify(t, SECRET)).payload);
  try {
    await body();
  } finally {
    setVerifierForTesting(undefined);
  }
}

/** An app echoing what `identify(kind)` finds. */
function echo(kind: IdentityKind, trustedProxies = 0) {
  const app = createFunctionApp("api");
  const who = identify(kind, trustedProxies);
  app.get("/who", authenticate(), async (c) => c.json({ id: await who(c) }));
  return async (headers: Record<string, string> = {}) =>
    (await (await app.request("/api/who", { headers })).json()).id;
}

Deno.test("identify('ip') believes X-Forwarded-For only behind a trusted proxy", async () => {
  const untrusting = echo("ip");
  assert.equal(await untrusting({ "x-forwarded-for": "203.0.113.7" }), null);
  const trusting = echo("ip", 1);
  assert.equal(await trusting({ "x-forwarded-for": "6.6.6.6, 203.0.113.7" }), "203.0.113.7");
  assert.equal(await trusting({}), null);
});

Deno.test("identify('user') is the verified user, the service role, or anonymous", async () => {
  await withTestTokens(async () => {
    const who = echo("user");
    const user = crypto.randomUUID();
    assert.equal(
      await who({
        authorization: `Bearer ${await token({
          role: "authenticated",
          aud: "authenticated",
          sub: user,
        })}`,
      }),
      user,
    );
    assert.equal(
      await who({ authorization: `Bearer ${await token({ role: "service_role" })}` }),
      "service_role",
    );
    assert.equal(await who({}), null);
  });
});

Deno.test("identify('api_key') is the hashed X-API-Key", async () => {
  const who = echo("api_key");
  assert.equal(await who({ "x-api-key": "sk_live_1" }), await hashApiKey("sk_live_1"));
  assert.equal(await who({}), null);
});

Deno.test("limitRoute() counts per address and feeds the monitor with admitted requests only", async () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 26));
  const policy: RateLimitPolicy = {
    name: "catalog",
    algorithm: "fixed_window",
    limit: 2,
    windowMs: 60_000,
    identity: "ip",
    failMode: "open",
  };
  const adaptive = new AdaptiveLimit({ clock, log: () => {} });
  const limiter = new RateLimiter({
    backend: new MemoryRateLimitBackend({ clock }),
    adaptive,
    clock,
  });
  const monitor = new LoadMonitor({ adaptive, clock, minimumRequests: 1 });
  const app = createFunctionApp("api");
  app.get(
    "/products",
    authenticate(),
    ...limitRoute({ policy, limiter, trustedProxies: 1, monitor }),
    (c) => c.json({ ok: true }),
  );
  const get = async (ip: string) =>
    (await app.request("/api/products", { headers: { "x-forwarded-for": ip } })).status;
  assert.deepEqual(
    [await get("198.51.100.1"), await get("198.51.100.1"), await get("198.51.100.1")],
    [200, 200, 429],
  );
  assert.equal(await get("198.51.100.2"), 200);
  // The 429 never reached the monitor: three admitted requests, no error.
  assert.equal(monitor.signals().errorRate, 0);
  assert.deepEqual(limiter.counters, { allowed: 3, limited: 1, fail_open: 0, fail_closed: 0 });
});
