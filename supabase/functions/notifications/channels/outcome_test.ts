import assert from "node:assert/strict";
import { MissingSecretError } from "../secrets.ts";
import { TargetNotAllowedError } from "../target_url.ts";
import { outcomeOfError, outcomeOfResponse } from "./outcome.ts";

Deno.test("outcomeOfResponse() treats 400, 404 and 410 as permanent and 408, 429, 5xx as temporary", async () => {
  const now = Date.UTC(2026, 0, 1);
  for (const status of [400, 401, 403, 404, 410, 413, 422, 501]) {
    assert.equal(
      (await outcomeOfResponse(new Response("no", { status }), now)).kind,
      "permanent",
      String(status),
    );
  }
  for (const status of [408, 429, 500, 502, 503, 504]) {
    assert.equal(
      (await outcomeOfResponse(new Response("later", { status }), now)).kind,
      "retry",
      String(status),
    );
  }
  const limited = await outcomeOfResponse(
    new Response("slow down, see https://hooks.slack.com/services/T/B/secret", {
      status: 429,
      headers: { "retry-after": "30" },
    }),
    now,
  );
  assert.deepEqual(limited, {
    kind: "retry",
    error: "http 429: slow down, see <url>",
    status: 429,
    retryAfterMs: 30_000,
  });
  assert.deepEqual(await outcomeOfResponse(new Response("ok"), now), {
    kind: "delivered",
    status: 200,
  });
});

Deno.test("outcomeOfError() never keeps an error's message, which can hold the target URL", () => {
  const network = outcomeOfError(
    new TypeError(
      "error sending request for url (https://hooks.slack.com/services/T/B/secret)",
    ),
  );
  assert.deepEqual(network, { kind: "retry", error: "network: fetch_failed" });
  assert.equal(
    outcomeOfError(new DOMException("timed out", "TimeoutError")).kind,
    "retry",
  );
  assert.equal(
    outcomeOfError(new TargetNotAllowedError("target must use https")).kind,
    "permanent",
  );
  assert.deepEqual(
    outcomeOfError(new MissingSecretError("COMPTOIR_NOTIFY_X")),
    {
      kind: "retry",
      error: "secret COMPTOIR_NOTIFY_X is not set",
    },
  );
});
