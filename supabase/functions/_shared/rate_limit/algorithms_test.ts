import assert from "node:assert/strict";
import { fixedWindow, type FixedWindowState } from "./fixed_window.ts";
import { slidingWindow, type SlidingWindowState } from "./sliding_window.ts";
import { tokenBucket, type TokenBucketState } from "./token_bucket.ts";

Deno.test("fixedWindow() allows the limit per aligned window and resets at the boundary", () => {
  let state: FixedWindowState | undefined;
  const allowed: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    const out = fixedWindow(state, 1500, { limit: 3, windowMs: 1000 });
    state = out.state;
    allowed.push(out.result.allowed);
    assert.equal(out.result.resetAt, 2000);
  }
  assert.deepEqual(allowed, [true, true, true, false, false]);
  const next = fixedWindow(state, 2000, { limit: 3, windowMs: 1000 });
  assert.deepEqual(next.result, { allowed: true, limit: 3, remaining: 2, resetAt: 3000 });
});

Deno.test("slidingWindow() weighs the previous window by its overlap", () => {
  let state: SlidingWindowState | undefined;
  for (let i = 0; i < 10; i++) {
    state = slidingWindow(state, 500, { limit: 10, windowMs: 1000 }).state;
  }
  // At 1250 the previous window (10 requests) still counts for 75%: 7 used, 3 left.
  const allowed: boolean[] = [];
  for (let i = 0; i < 5; i++) {
    const out = slidingWindow(state, 1250, { limit: 10, windowMs: 1000 });
    state = out.state;
    allowed.push(out.result.allowed);
  }
  assert.deepEqual(allowed, [true, true, true, false, false]);
  // Two windows later nothing of it is left.
  assert.equal(slidingWindow(state, 3000, { limit: 10, windowMs: 1000 }).result.remaining, 9);
});

Deno.test("tokenBucket() allows a burst, then one refill per interval, capped at capacity", () => {
  let state: TokenBucketState | undefined;
  const at = (now: number) => {
    const out = tokenBucket(state, now, { capacity: 3, refill: 1, intervalMs: 1000 });
    state = out.state;
    return out.result;
  };
  assert.deepEqual([at(0), at(0), at(0), at(0)].map((r) => r.allowed), [true, true, true, false]);
  assert.equal(at(999).allowed, false);
  assert.deepEqual(at(1000), { allowed: true, limit: 3, remaining: 0, resetAt: 2000 });
  assert.equal(at(1500).allowed, false);
  assert.equal(at(60_000).remaining, 2);
});
