import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { ProblemError } from "../http/problem.ts";
import { callerFromRequest, setVerifierForTesting } from "./caller.ts";

const SECRET = "caller-test-secret-with-at-least-32-characters";

function sign(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(
    new TextEncoder().encode(SECRET),
  );
}

async function withSecret(fn: () => Promise<void>): Promise<void> {
  const previous = Deno.env.get("COMPTOIR_JWT_SECRET");
  Deno.env.set("COMPTOIR_JWT_SECRET", SECRET);
  setVerifierForTesting(undefined);
  try {
    await fn();
  } finally {
    if (previous === undefined) Deno.env.delete("COMPTOIR_JWT_SECRET");
    else Deno.env.set("COMPTOIR_JWT_SECRET", previous);
    setVerifierForTesting(undefined);
  }
}

function bearer(token: string): Request {
  return new Request("http://x/api", { headers: { authorization: `Bearer ${token}` } });
}

Deno.test("callerFromRequest() refuses signed tokens whose claims do not hold", async () => {
  const now = Math.floor(Date.now() / 1000);
  const user = { role: "authenticated", aud: "authenticated", sub: crypto.randomUUID() };
  await withSecret(async () => {
    for (
      const claims of [
        { role: "anon" },
        { role: "service_role", iat: now },
        { ...user, sub: undefined, exp: now + 600 },
        { ...user, aud: undefined, exp: now + 600 },
        { ...user, aud: "somebody-else", exp: now + 600 },
        { ...user, iat: now + 86_400, exp: now + 90_000 },
      ]
    ) {
      const token = await sign(JSON.parse(JSON.stringify(claims)));
      await assert.rejects(callerFromRequest(bearer(token)), (err: unknown) => {
        assert.ok(err instanceof ProblemError, JSON.stringify(claims));
        assert.equal(err.problem.status, 401);
        return true;
      });
    }
  });
});

Deno.test("callerFromRequest() accepts a user token as Supabase Auth shapes it", async () => {
  const now = Math.floor(Date.now() / 1000);
  const sub = crypto.randomUUID();
  await withSecret(async () => {
    const token = await sign({
      role: "authenticated",
      aud: "authenticated",
      sub,
      iat: now,
      exp: now + 600,
      app_metadata: { role: "admin" },
    });
    const caller = await callerFromRequest(bearer(token));
    assert.equal(caller.role, "admin");
    assert.equal(caller.userId, sub);
    const service = await callerFromRequest(
      bearer(await sign({ role: "service_role", iat: now, exp: now + 600 })),
    );
    assert.equal(service.role, "service_role");
  });
});
