import assert from "node:assert/strict";
import postgres from "postgres";
import { FakeClock } from "../clock.ts";
import { CircuitBreaker } from "../resilience/circuit_breaker.ts";
import { CircuitOpenError } from "../resilience/errors.ts";
import {
  consumeStatement,
  counterKeyLiteral,
  PostgresRateLimitBackend,
} from "./postgres_backend.ts";
import { type RateLimitRule, RateLimitStoreError } from "./types.ts";

const rule: RateLimitRule = {
  name: "catalog",
  algorithm: "sliding_window",
  limit: 600,
  windowMs: 60_000,
  refill: 600,
};

Deno.test("counterKeyLiteral() keeps ordinary keys and encodes everything else", () => {
  assert.equal(counterKeyLiteral("catalog:ip:203.0.113.7"), "'catalog:ip:203.0.113.7'");
  assert.equal(counterKeyLiteral("c:ip:2001:db8:0:0::/64"), "'c:ip:2001:db8:0:0::/64'");
  assert.equal(
    counterKeyLiteral("c:user:3f1c2a4e-0000-4000-8000-000000000000"),
    "'c:user:3f1c2a4e-0000-4000-8000-000000000000'",
  );
  assert.equal(counterKeyLiteral("c:user:o'brien"), "'c:user:o%27brien'");
  assert.equal(
    counterKeyLiteral("c:user:a\\'); drop table x; --"),
    "'c:user:a%5C%27%29%3B%20drop%20table%20x%3B%20--'",
  );
  assert.equal(counterKeyLiteral("c:user:é%"), "'c:user:%C3%A9%25'");
  // Distinct keys stay distinct: "%" is itself encoded.
  assert.notEqual(counterKeyLiteral("c:%27"), counterKeyLiteral("c:'"));
});

Deno.test("counterKeyLiteral() output never holds a quote, backslash or control character", () => {
  for (let code = 0; code < 0x250; code++) {
    const literal = counterKeyLiteral(`k:${String.fromCharCode(code)}x`);
    const inner = literal.slice(1, -1);
    assert.match(inner, /^[A-Za-z0-9_.:/@+=%-]*$/, `code ${code}`);
  }
});

Deno.test("consumeStatement() inlines checked values only", () => {
  assert.equal(
    consumeStatement(rule, "catalog:ip:203.0.113.7", null),
    "select allowed, remaining, reset_at_ms::text, limit_value from rate_limit.consume(" +
      "'catalog:ip:203.0.113.7', 'sliding_window', 600, 60000, 600, 1, null)",
  );
  assert.match(consumeStatement(rule, "k", 1_795_000_000_123), /, 1, 1795000000123\)$/);
  assert.throws(() => consumeStatement({ ...rule, limit: 1.5 }, "k", null), /limit must be/);
  assert.throws(
    () => consumeStatement({ ...rule, algorithm: "x'" as "fixed_window" }, "k", null),
    /Unknown rate-limit algorithm/,
  );
  assert.throws(() => consumeStatement(rule, "k", Number.NaN), /now must be/);
});

Deno.test("PostgresRateLimitBackend answers unavailable at once while the database breaker is open", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("database", { failureThreshold: 1, openMs: 7000, clock });
  await assert.rejects(
    breaker.execute(() =>
      Promise.reject(Object.assign(new Error("refused"), { code: "ECONNREFUSED" }))
    ),
  );
  // Nothing listens on port 1: a query would fail with a connection error, not the breaker's.
  const sql = postgres("postgres://postgres:postgres@127.0.0.1:1/none", {
    max: 1,
    onnotice: () => {},
  });
  try {
    const backend = new PostgresRateLimitBackend({ sql, breaker });
    const error = await backend.consume(rule, "ip:203.0.113.7").then(
      () => assert.fail("the store answered"),
      (e) => e,
    );
    assert.ok(error instanceof RateLimitStoreError);
    assert.equal(error.reason, "unavailable");
    assert.equal(error.retryAfterMs, 7000);
    assert.ok(error.cause instanceof CircuitOpenError);
    // The refusal took no probe and recorded nothing.
    assert.equal(breaker.status, "open");
  } finally {
    await sql.end({ timeout: 0 });
  }
});
