import assert from "node:assert/strict";
import { percentile, summarize } from "./timing.ts";

Deno.test("percentile() is the nearest-rank percentile", () => {
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(sorted, 50), 50);
  assert.equal(percentile(sorted, 95), 95);
  assert.equal(percentile(sorted, 100), 100);
  assert.equal(percentile([7], 95), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

Deno.test("summarize() sorts before taking p50, p95 and max", () => {
  const stats = summarize([5, 1, 4, 2, 3, 100, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.deepEqual(
    { n: stats.n, p50: stats.p50, p95: stats.p95, max: stats.max },
    { n: 20, p50: 10, p95: 19, max: 100 },
  );
  assert.equal(stats.mean, (190 - 20 + 100 + 20) / 20);
});
