import assert from "node:assert/strict";
import { parseRetryAfter, retryAfterMs } from "./retry_after.ts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

Deno.test("parseRetryAfter() reads delay-seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("3", NOW), 3000);
  assert.equal(parseRetryAfter(" 0 ", NOW), 0);
  assert.equal(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW), 90_000);
  assert.equal(parseRetryAfter(new Date(NOW - 5_000).toUTCString(), NOW), 0);
});

Deno.test("parseRetryAfter() ignores malformed values", () => {
  for (const value of [null, undefined, "", "-1", "1.5", "soon", "+3"]) {
    assert.equal(parseRetryAfter(value, NOW), undefined, String(value));
  }
});

Deno.test("retryAfterMs() finds the delay on responses and errors", () => {
  assert.equal(retryAfterMs(new Response(null, { headers: { "retry-after": "2" } }), NOW), 2000);
  assert.equal(retryAfterMs({ retryAfterMs: 1234 }, NOW), 1234);
  const response = new Response(null, { status: 429, headers: { "Retry-After": "7" } });
  assert.equal(retryAfterMs(Object.assign(new Error("limited"), { response }), NOW), 7000);
  assert.equal(retryAfterMs({ headers: new Headers({ "retry-after": "4" }) }, NOW), 4000);
  assert.equal(retryAfterMs({ headers: { "Retry-After": "5" } }, NOW), 5000);
  assert.equal(retryAfterMs(new Error("plain"), NOW), undefined);
});
