import assert from "node:assert/strict";
import { RATE_LIMIT_POLICIES } from "./policies.ts";
import { checkClientAddressSetting, rateLimitSettingsFromEnv, withOverrides } from "./settings.ts";

const env = (vars: Record<string, string>) => new Map(Object.entries(vars));

Deno.test("rateLimitSettingsFromEnv() defaults to Postgres, no proxy setting, adaptive on", () => {
  assert.deepEqual(rateLimitSettingsFromEnv(env({})), {
    backend: "postgres",
    trustedProxies: null,
    adaptive: true,
    overrides: {},
  });
});

Deno.test("rateLimitSettingsFromEnv() reads every variable", () => {
  const settings = rateLimitSettingsFromEnv(env({
    COMPTOIR_RATE_LIMIT_BACKEND: "Upstash",
    UPSTASH_REDIS_REST_URL: "https://x.upstash.io",
    UPSTASH_REDIS_REST_TOKEN: "t",
    COMPTOIR_TRUSTED_PROXY: "2",
    COMPTOIR_RATE_LIMITS: '{"checkout": {"limit": 3, "refill": 1}}',
    COMPTOIR_RATE_LIMIT_ADAPTIVE: "off",
  }));
  assert.deepEqual(settings, {
    backend: "upstash",
    trustedProxies: 2,
    adaptive: false,
    overrides: { checkout: { limit: 3, refill: 1 } },
  });
  assert.equal(
    rateLimitSettingsFromEnv(env({ COMPTOIR_RATE_LIMIT_BACKEND: "off" })).backend,
    "off",
  );
});

Deno.test("rateLimitSettingsFromEnv() refuses what nobody can have meant", () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ COMPTOIR_RATE_LIMIT_BACKEND: "redis" }, /must be one of postgres, upstash, off/],
    [{ COMPTOIR_RATE_LIMIT_BACKEND: "upstash" }, /needs UPSTASH_REDIS_REST_URL/],
    [{ COMPTOIR_TRUSTED_PROXY: "true" }, /number of proxies/],
    [{ COMPTOIR_TRUSTED_PROXY: "-1" }, /number of proxies/],
    [{ COMPTOIR_TRUSTED_PROXY: "1.5" }, /number of proxies/],
    [{ COMPTOIR_TRUSTED_PROXY: "0x1" }, /number of proxies/],
    [{ COMPTOIR_RATE_LIMITS: "{catalog: 5}" }, /not valid JSON/],
    [{ COMPTOIR_RATE_LIMITS: "[1]" }, /JSON object keyed by policy name/],
    [{ COMPTOIR_RATE_LIMITS: '{"catalog": 5}' }, /catalog must be an object/],
    [{ COMPTOIR_RATE_LIMITS: '{"catalog": {"identity": "ip"}}' }, /identity cannot be changed/],
    [{ COMPTOIR_RATE_LIMIT_ADAPTIVE: "maybe" }, /must be on or off/],
  ];
  for (const [vars, message] of cases) {
    assert.throws(() => rateLimitSettingsFromEnv(env(vars)), message, JSON.stringify(vars));
  }
});

Deno.test("withOverrides() changes named policies, checks them again and rejects unknown names", () => {
  const policies = withOverrides(RATE_LIMIT_POLICIES, {
    public_read: { limit: 10, windowMs: 1000 },
    checkout: { algorithm: "fixed_window" },
  });
  assert.equal(policies.public_read.limit, 10);
  assert.equal(policies.public_read.windowMs, 1000);
  assert.equal(policies.public_read.name, "public_read");
  assert.equal(policies.checkout.algorithm, "fixed_window");
  assert.equal(policies.checkout.refill, undefined);
  assert.equal(policies.checkout.failMode, "closed");
  assert.deepEqual(
    { ...policies.user_read },
    { ...RATE_LIMIT_POLICIES.user_read },
  );
  assert.throws(() => withOverrides(RATE_LIMIT_POLICIES, { publc_read: { limit: 1 } }), /unknown/);
  assert.throws(
    () => withOverrides(RATE_LIMIT_POLICIES, { public_read: { limit: 0 } }),
    /limit must be a positive integer/,
  );
});

Deno.test("checkClientAddressSetting() refuses per-address policies with no address source", () => {
  const policies = Object.values(RATE_LIMIT_POLICIES);
  const unset = rateLimitSettingsFromEnv(env({}));
  assert.throws(
    () => checkClientAddressSetting(unset, policies),
    /COMPTOIR_TRUSTED_PROXY is not set/,
  );
  for (const value of ["0", "1"]) {
    const set = rateLimitSettingsFromEnv(env({ COMPTOIR_TRUSTED_PROXY: value }));
    checkClientAddressSetting(set, policies);
  }
  const off = rateLimitSettingsFromEnv(env({ COMPTOIR_RATE_LIMIT_BACKEND: "off" }));
  checkClientAddressSetting(off, policies);
  checkClientAddressSetting(unset, policies.filter((p) => p.identity !== "ip"));
});
