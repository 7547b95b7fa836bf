import assert from "node:assert/strict";
import { jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { setVerifierForTesting } from "../auth/caller.ts";
import { FakeClock } from "../clock.ts";
import { RateLimiter } from "../rate_limit/limiter.ts";
import { MemoryRateLimitBackend } from "../rate_limit/memory_backend.ts";
import { limitRoute } from "../rate_limit/route_limit.ts";
import type { RateLimitPolicy } from "../rate_limit/types.ts";
import { createFunctionApp } from "./create_app.ts";
import { ApiRegistry } from "./openapi.ts";

const SECRET = new TextEncoder().encode("openapi-test-secret-of-at-least-32-bytes");

const policy = (identity: "ip" | "user"): RateLimitPolicy => ({
  name: identity,
  algorithm: "fixed_window",
  limit: 2,
  windowMs: 60_000,
  identity,
  failMode: "open",
});

function registry() {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ backend: new MemoryRateLimitBackend({ clock }), clock });
  const app = createFunctionApp("api");
  const api = new ApiRegistry(app, {
    basePath: "/api",
    versions: ["v1"],
    title: "t",
    version: "1",
  });
  const base = {
    summary: "s",
    tags: ["t"],
    request: { query: z.object({ n: z.string().regex(/^\d+$/) }).strict() },
    responses: { 200: { description: "ok" } },
    errors: [400, 401, 429],
    handler: (c: import("hono").Context) => c.json({ ok: true }),
  };
  api.route({
    ...base,
    method: "get",
    path: "/open",
    beforeAuth: limitRoute({ policy: policy("ip"), limiter }),
  });
  api.route({
    ...base,
    method: "get",
    path: "/mine",
    roles: ["customer"],
    middleware: limitRoute({ policy: policy("user"), limiter }),
  });
  return app;
}

async function statuses(app: ReturnType<typeof registry>, path: string, token: string) {
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } }, {
      remoteAddr: { hostname: "192.0.2.1", port: 1, transport: "tcp" },
    });
    out.push(res.status);
    await res.body?.cancel();
  }
  return out;
}

Deno.test("ApiRegistry runs per-address limits before authentication: bad tokens count", async () => {
  setVerifierForTesting(async (t) => (await jwtVerify(t, SECRET)).payload);
  try {
    assert.deepEqual(await statuses(registry(), "/api/v1/open?n=1", "not-a-jwt"), [401, 401, 429]);
  } finally {
    setVerifierForTesting(undefined);
  }
});

Deno.test("ApiRegistry runs route middleware before validation: bad input counts", async () => {
  setVerifierForTesting(async (t) => (await jwtVerify(t, SECRET)).payload);
  try {
    const token = await new SignJWT({ role: "authenticated", aud: "authenticated", sub: "u1" })
      .setProtectedHeader({ alg: "HS256" }).setExpirationTime("1h").sign(SECRET);
    const app = registry();
    assert.deepEqual(await statuses(app, "/api/v1/open?n=x", token), [400, 400, 429]);
    assert.deepEqual(await statuses(app, "/api/v1/mine?n=x", token), [400, 400, 429]);
  } finally {
    setVerifierForTesting(undefined);
  }
});
