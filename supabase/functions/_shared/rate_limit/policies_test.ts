import assert from "node:assert/strict";
import { defineRateLimitPolicies, RATE_LIMIT_POLICIES } from "./policies.ts";

Deno.test("RATE_LIMIT_POLICIES names every policy after its key", () => {
  for (const [key, policy] of Object.entries(RATE_LIMIT_POLICIES)) {
    assert.equal(policy.name, key);
    assert.ok(Object.isFrozen(policy));
  }
  assert.equal(RATE_LIMIT_POLICIES.checkout.failMode, "closed");
  assert.equal(RATE_LIMIT_POLICIES.public_read.failMode, "open");
});

Deno.test("defineRateLimitPolicies() rejects impossible policies", () => {
  const base = {
    algorithm: "fixed_window",
    limit: 1,
    windowMs: 1000,
    identity: "ip",
    failMode: "open",
  } as const;
  assert.throws(() => defineRateLimitPolicies({ bad: { ...base, limit: 0 } }), RangeError);
  assert.throws(() => defineRateLimitPolicies({ bad: { ...base, windowMs: 1.5 } }), RangeError);
  assert.throws(
    () => defineRateLimitPolicies({ bad: { ...base, refill: 2 } }),
    /token_bucket only/,
  );
  assert.throws(() => defineRateLimitPolicies({ "Bad-Name": base }), /snake_case/);
});
