/**
 * The api's protection table against the routes the api really registers, and what
 * createApiProtection() builds for a configuration (no database or Redis is contacted).
 */
import assert from "node:assert/strict";
import "../_support/local_function_env.ts";
import { api } from "../../supabase/functions/api/app.ts";
import {
  API_RATE_LIMITS,
  type ApiPolicyName,
  createApiProtection,
} from "../../supabase/functions/api/protection.ts";
import { rateLimitSettingsFromEnv } from "../../supabase/functions/_shared/rate_limit/settings.ts";

const settings = (vars: Record<string, string> = {}) =>
  rateLimitSettingsFromEnv(new Map(Object.entries(vars)));

Deno.test("every api route declares exactly one rate-limit policy the api has", () => {
  const registered = new Set(
    api.list().map((line) => line.replace(/^(\w+) \/api\/v\d+/, "$1 ")),
  );
  assert.deepEqual([...registered].sort(), Object.keys(api.policies()).sort());
  for (const policy of Object.values(api.policies())) assert.ok(policy in API_RATE_LIMITS);
});

Deno.test("order creation fails closed per user; browsing fails open per address", () => {
  assert.equal(API_RATE_LIMITS.orders_create.failMode, "closed");
  assert.equal(API_RATE_LIMITS.orders_create.identity, "user");
  for (const name of ["catalog", "inventory"] as const) {
    assert.equal(API_RATE_LIMITS[name].identity, "ip");
    assert.equal(API_RATE_LIMITS[name].failMode, "open");
  }
  assert.equal(API_RATE_LIMITS.dashboard.identity, "user");
});

Deno.test("createApiProtection() gives each route its chain and summarises what is in force", () => {
  const protection = createApiProtection(settings({
    COMPTOIR_TRUSTED_PROXY: "1",
    COMPTOIR_RATE_LIMITS: '{"catalog": {"limit": 7}}',
  }));
  // Per address: the limiter, then the load monitor, before authentication.
  assert.equal(protection.middleware("catalog").beforeAuth.length, 2);
  assert.equal(protection.middleware("catalog").middleware.length, 0);
  // Per user: once the caller is known.
  assert.equal(protection.middleware("orders_create").beforeAuth.length, 0);
  assert.equal(protection.middleware("orders_create").middleware.length, 2);
  assert.equal(protection.middleware("catalog"), protection.middleware("catalog"));
  const summary = protection.summary(api.policies() as Record<string, ApiPolicyName>) as {
    level: string;
    rate_limit: Record<string, unknown>;
    policies: Array<Record<string, unknown>>;
  };
  assert.equal(summary.level, "info");
  assert.equal(summary.rate_limit.backend, "postgres");
  assert.equal(summary.rate_limit.trusted_proxies, 1);
  assert.deepEqual(summary.rate_limit.overridden, ["catalog"]);
  assert.equal(summary.policies.find((p) => p.name === "catalog")!.limit, 7);
  assert.deepEqual(summary.policies.find((p) => p.name === "orders_create")!.routes, [
    "POST /orders",
  ]);
  assert.doesNotThrow(() => JSON.parse(JSON.stringify(summary)));
});

Deno.test("createApiProtection() with the backend off adds nothing to the routes", () => {
  const protection = createApiProtection(settings({ COMPTOIR_RATE_LIMIT_BACKEND: "off" }));
  for (const policy of Object.keys(API_RATE_LIMITS) as ApiPolicyName[]) {
    assert.deepEqual(protection.middleware(policy), { beforeAuth: [], middleware: [] });
  }
  assert.equal(protection.limiter, null);
  assert.equal((protection.summary({}).rate_limit as Record<string, unknown>).adaptive, false);
});

Deno.test("createApiProtection() refuses an override of a policy the api does not have", () => {
  assert.throws(
    () =>
      createApiProtection(settings({
        COMPTOIR_TRUSTED_PROXY: "0",
        COMPTOIR_RATE_LIMITS: '{"checkout": {"limit": 1}}',
      })),
    /unknown policy checkout \(known: catalog, inventory, orders_create, orders_read, dashboard\)/,
  );
});

Deno.test("createApiProtection() leaves the export function's policy in the shared variable to it", () => {
  const protection = createApiProtection(settings({
    COMPTOIR_TRUSTED_PROXY: "0",
    COMPTOIR_RATE_LIMITS: '{"export": {"limit": 1}, "catalog": {"limit": 7}}',
  }));
  const summary = protection.summary({});
  assert.deepEqual((summary.rate_limit as Record<string, unknown>).overridden, ["catalog"]);
  const policies = summary.policies as { name: string; limit: number }[];
  assert.equal(policies.find((p) => p.name === "catalog")?.limit, 7);
  assert.equal(policies.some((p) => p.name === "export"), false);
});

Deno.test("createApiProtection() refuses to start when clients cannot be told apart", () => {
  assert.throws(() => createApiProtection(settings()), /COMPTOIR_TRUSTED_PROXY is not set/);
  const local = createApiProtection(settings({ COMPTOIR_TRUSTED_PROXY: "0" }));
  assert.equal(
    (local.summary({}).rate_limit as Record<string, unknown>).client_address,
    "connection peer",
  );
});
