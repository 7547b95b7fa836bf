import assert from "node:assert/strict";
import { protectionLines } from "./startup_summary.ts";

const auth = { signInSignUpsPer5Min: 30, tokenRefreshPer5Min: 150 };

Deno.test("protectionLines() gives one short line per policy and warns about shared addresses", () => {
  const lines = protectionLines({
    rate_limit: { backend: "postgres", adaptive: true, client_address: "connection peer" },
    policies: [
      {
        name: "catalog",
        algorithm: "sliding_window",
        limit: 600,
        window_ms: 60_000,
        identity: "ip",
        fail: "open",
      },
      {
        name: "orders_create",
        algorithm: "token_bucket",
        limit: 30,
        refill: 1,
        window_ms: 30_000,
        identity: "user",
        fail: "closed",
      },
    ],
    breaker: { name: "database", failure_threshold: 5, open_ms: 10_000, store: "memory" },
  }, auth);
  assert.deepEqual(lines, [
    "rate limits counted in postgres, adaptive; client address: connection peer",
    "  catalog        600 per 1 min per address",
    "  orders_create  burst 30, then 1 every 30 s per user, refused while the store is down",
    "  auth           30 sign-ins/sign-ups and 150 refreshes per address per 5 min",
    "database breaker opens after 5 failures for 10 s (state in memory)",
    "warning: per-address limits (catalog, auth) see every local client as 127.0.0.1:",
    "  a front-end, a script and a benchmark on this machine share one budget",
  ]);
  assert.ok(lines.every((line) => line.length <= 120));
});

Deno.test("protectionLines() says when limits are off and drops the address warning", () => {
  const lines = protectionLines({ rate_limit: { backend: "off" }, policies: [] }, auth);
  assert.equal(lines[0], "rate limits OFF (COMPTOIR_RATE_LIMIT_BACKEND=off)");
  assert.ok(!lines.some((line) => line.startsWith("warning")));
});

Deno.test("protectionLines() names the forwarded address when proxies are trusted", () => {
  const lines = protectionLines({
    rate_limit: { backend: "upstash", client_address: "X-Forwarded-For, entry appended by 1" },
    policies: [{
      name: "catalog",
      algorithm: "fixed_window",
      limit: 20,
      window_ms: 3_600_000,
      identity: "ip",
      fail: "open",
    }],
  }, auth);
  assert.equal(lines[1], "  catalog        20 per 1 h per address");
  assert.ok(!lines.some((line) => line.startsWith("warning")));
});
