import assert from "node:assert/strict";
import { VerifiedTokens } from "./verified_tokens.ts";

Deno.test("VerifiedTokens keeps a verified payload until the token's exp", () => {
  const tokens = new VerifiedTokens();
  const now = 1_000_000_000_000;
  tokens.remember("a.b.c", { sub: "u1", exp: now / 1000 + 60 }, now);
  assert.equal(tokens.get("a.b.c", now + 59_000)?.sub, "u1");
  assert.equal(tokens.get("a.b.c", now + 60_000), undefined);
  assert.equal(tokens.size, 0);
  // A token without exp, or already expired, is never kept.
  tokens.remember("d.e.f", { sub: "u2" }, now);
  tokens.remember("g.h.i", { sub: "u3", exp: now / 1000 - 1 }, now);
  assert.equal(tokens.size, 0);
  // Only the exact bytes hit: another signature is another token.
  tokens.remember("a.b.c", { sub: "u1", exp: now / 1000 + 60 }, now);
  assert.equal(tokens.get("a.b.x", now), undefined);
});

Deno.test("VerifiedTokens drops the least recently used token beyond its bound", () => {
  const tokens = new VerifiedTokens({ max: 2 });
  const exp = Date.now() / 1000 + 60;
  tokens.remember("t1", { exp });
  tokens.remember("t2", { exp });
  assert.ok(tokens.get("t1"));
  tokens.remember("t3", { exp });
  assert.equal(tokens.size, 2);
  assert.equal(tokens.get("t2"), undefined);
  assert.ok(tokens.get("t1") && tokens.get("t3"));
});
