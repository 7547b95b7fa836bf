import assert from "node:assert/strict";
import fc from "fast-check";
import { backoffDelay } from "./backoff.ts";

const random01 = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

Deno.test("backoffDelay() without jitter doubles up to the cap", () => {
  const options = { baseDelayMs: 100, maxDelayMs: 1000, jitter: "none" as const };
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 0, options)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
});

Deno.test("backoffDelay() full jitter stays within [0, min(cap, base·2^(n-1))]", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), random01, (retry, r) => {
      const delay = backoffDelay(retry, 0, {
        baseDelayMs: 100,
        maxDelayMs: 5000,
        jitter: "full",
        random: () => r,
      });
      assert.ok(delay >= 0 && delay <= Math.min(5000, 100 * 2 ** (retry - 1)), `${delay}`);
    }),
  );
});

Deno.test("backoffDelay() decorrelated jitter stays within [base, min(cap, 3·previous)]", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000 }), random01, (previous, r) => {
      const delay = backoffDelay(2, previous, {
        baseDelayMs: 50,
        maxDelayMs: 4000,
        jitter: "decorrelated",
        random: () => r,
      });
      const upper = Math.min(4000, Math.max(50, previous) * 3);
      assert.ok(delay >= 50 && delay <= upper, `${delay} not in [50, ${upper}]`);
    }),
  );
});

Deno.test("backoffDelay() rejects nonsense", () => {
  assert.throws(() => backoffDelay(0, 0), RangeError);
  assert.throws(() => backoffDelay(1, 0, { baseDelayMs: 500, maxDelayMs: 100 }), RangeError);
});
