import assert from "node:assert/strict";
import { tokenClaimsProblem } from "./token_claims.ts";

const now = 1_800_000_000;
const user = { role: "authenticated", sub: "u-1", aud: "authenticated", exp: now + 60 };

Deno.test("tokenClaimsProblem() requires exp", () => {
  assert.match(tokenClaimsProblem({ role: "anon" }, { now }) ?? "", /exp/);
  assert.match(tokenClaimsProblem({ role: "anon", exp: NaN }, { now }) ?? "", /exp/);
  assert.equal(tokenClaimsProblem({ role: "anon", exp: now + 1 }, { now }), undefined);
});

Deno.test("tokenClaimsProblem() requires sub and the authenticated audience of a user", () => {
  assert.equal(tokenClaimsProblem(user, { now }), undefined);
  assert.equal(tokenClaimsProblem({ ...user, aud: ["x", "authenticated"] }, { now }), undefined);
  assert.match(tokenClaimsProblem({ ...user, sub: undefined }, { now }) ?? "", /sub/);
  assert.match(tokenClaimsProblem({ ...user, sub: "" }, { now }) ?? "", /sub/);
  assert.match(tokenClaimsProblem({ ...user, aud: undefined }, { now }) ?? "", /aud/);
  assert.match(tokenClaimsProblem({ ...user, aud: "anon" }, { now }) ?? "", /aud/);
  // anon and service_role keys carry neither.
  assert.equal(tokenClaimsProblem({ role: "service_role", exp: now + 1 }, { now }), undefined);
});

Deno.test("tokenClaimsProblem() refuses iat ahead of the clock beyond the tolerance", () => {
  const claims = { role: "anon", exp: now + 3600 };
  assert.equal(tokenClaimsProblem({ ...claims, iat: now + 60 }, { now }), undefined);
  assert.match(tokenClaimsProblem({ ...claims, iat: now + 61 }, { now }) ?? "", /iat/);
  assert.match(
    tokenClaimsProblem({ ...claims, iat: now + 5 }, { now, clockToleranceSeconds: 0 }) ?? "",
    /iat/,
  );
  assert.match(tokenClaimsProblem({ ...claims, iat: "soon" as never }, { now }) ?? "", /iat/);
});
