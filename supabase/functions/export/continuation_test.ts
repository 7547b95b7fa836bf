import assert from "node:assert/strict";
import { ProblemError } from "../_shared/http/problem.ts";
import {
  type Continuation,
  filtersDigest,
  signContinuation,
  signingSecretFromEnv,
  verifyContinuation,
} from "./continuation.ts";

Deno.env.set("COMPTOIR_EXPORT_SIGNING_KEY", "test-only-signing-key-of-the-export-function");

const expected = async () => ({
  resource: "orders",
  filters: await filtersDigest("orders", { status: "{paid}", from: undefined }),
  subject: "user-1",
  keyParts: 1,
});

const token = async (change: Partial<Continuation> = {}) =>
  await signContinuation({
    resource: "orders",
    filters: (await expected()).filters,
    subject: "user-1",
    after: ["42"],
    upto: "1000",
    page: 2,
    expiresAt: Math.floor(Date.now() / 1000) + 60,
    ...change,
  });

const status = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return 200;
  } catch (err) {
    assert.ok(err instanceof ProblemError);
    return err.problem.status;
  }
};

Deno.test("verifyContinuation() gives back what signContinuation() signed", async () => {
  const doc = await verifyContinuation(await token(), await expected());
  assert.deepEqual([doc.after, doc.upto, doc.page], [["42"], "1000", 2]);
});

Deno.test("verifyContinuation() refuses edited, foreign and expired tokens with 400", async () => {
  const good = await token();
  const [body, signature] = good.split(".");
  const edited = btoa(atob(body.replaceAll("-", "+").replaceAll("_", "/")).replace("42", "41"))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  assert.equal(await status(verifyContinuation(`${edited}.${signature}`, await expected())), 400);
  assert.equal(
    await status(verifyContinuation(`${body}.${"A".repeat(43)}`, await expected())),
    400,
  );
  assert.equal(
    await status(verifyContinuation(good, { ...await expected(), subject: "user-2" })),
    400,
  );
  assert.equal(
    await status(verifyContinuation(good, { ...await expected(), resource: "order_lines" })),
    400,
  );
  const otherFilters = await filtersDigest("orders", { status: "{shipped}" });
  assert.equal(
    await status(verifyContinuation(good, { ...await expected(), filters: otherFilters })),
    400,
  );
  const old = await token({ expiresAt: Math.floor(Date.now() / 1000) - 1 });
  assert.equal(await status(verifyContinuation(old, await expected())), 400);
});

Deno.test("filtersDigest() ignores absent filters and their order", async () => {
  assert.equal(
    await filtersDigest("orders", { to: "b", from: "a", status: undefined }),
    await filtersDigest("orders", { from: "a", to: "b" }),
  );
  assert.notEqual(await filtersDigest("orders", {}), await filtersDigest("order_lines", {}));
});

Deno.test("signingSecretFromEnv() needs one of the two secrets", () => {
  assert.throws(() => signingSecretFromEnv(new Map()), /COMPTOIR_EXPORT_SIGNING_KEY/);
  assert.equal(signingSecretFromEnv(new Map([["COMPTOIR_JWT_SECRET", "s"]])), "s");
});
