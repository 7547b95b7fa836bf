import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { signedHeaders } from "./webhook.ts";

Deno.test("signedHeaders() signs with every secret, so either verifies during a rotation", () => {
  const secrets = [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_" + btoa("the old secret"),
  ];
  const body = JSON.stringify({ type: "stock.low", data: { a: 1 } });
  const headers = signedHeaders("msg_1", new Date(), body, secrets.join(" "));
  assert.equal(headers["webhook-id"], "msg_1");
  assert.equal(headers["webhook-signature"].split(" ").length, 2);
  for (const secret of secrets) {
    assert.deepEqual(
      new Webhook(secret).verify(body, headers),
      JSON.parse(body),
    );
  }
  assert.throws(
    () => signedHeaders("msg_1", new Date(), body, "  "),
    TypeError,
  );
});
