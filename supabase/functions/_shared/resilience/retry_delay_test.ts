import assert from "node:assert/strict";
import { delayBeforeRetry } from "./retry_delay.ts";

Deno.test("delayBeforeRetry() waits the jittered backoff, or the Retry-After when longer", () => {
  const now = Date.UTC(2026, 0, 1);
  const half = () => 0.5;
  assert.deepEqual(
    delayBeforeRetry(3, 0, new Error("x"), { baseDelayMs: 100, random: half, now }),
    {
      backoffMs: 200,
      delayMs: 200,
      retryAfterMs: undefined,
    },
  );
  const limited = new Response(null, { status: 429, headers: { "retry-after": "5" } });
  assert.equal(
    delayBeforeRetry(1, 0, limited, { baseDelayMs: 100, random: half, now }).delayMs,
    5000,
  );
  assert.equal(
    delayBeforeRetry(1, 0, limited, {
      baseDelayMs: 100,
      random: half,
      now,
      respectRetryAfter: false,
    }).delayMs,
    50,
  );
  // Capped, whatever the attempt.
  assert.equal(
    delayBeforeRetry(60, 0, undefined, { baseDelayMs: 100, maxDelayMs: 1000, jitter: "none" })
      .delayMs,
    1000,
  );
  assert.equal(
    delayBeforeRetry(2, 0, { retryAfterMs: 1500 }, { baseDelayMs: 10, random: half }).delayMs,
    1500,
  );
});
