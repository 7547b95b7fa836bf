import assert from "node:assert/strict";
import fc from "fast-check";
import { classify, isRetryable } from "./classify.ts";
import { CircuitOpenError, DeadlineExceededError, TimeoutError } from "./errors.ts";

function pgError(code: string): Error {
  return Object.assign(new Error(`sqlstate ${code}`), {
    name: "PostgresError",
    code,
    severity: "ERROR",
  });
}

Deno.test("classify() retries 408, 429 and transient 5xx responses", () => {
  for (const status of [408, 429, 500, 502, 503, 504]) {
    assert.equal(isRetryable(new Response(null, { status })), true, `status ${status}`);
  }
});

Deno.test("classify() never retries other 4xx, 501 and 505", () => {
  fc.assert(
    fc.property(fc.integer({ min: 400, max: 499 }), (status) => {
      fc.pre(status !== 408 && status !== 429);
      assert.equal(isRetryable(new Response(null, { status })), false);
      assert.equal(isRetryable(Object.assign(new Error("http"), { status })), false);
    }),
  );
  assert.equal(isRetryable(new Response(null, { status: 501 })), false);
  assert.equal(isRetryable(new Response(null, { status: 505 })), false);
});

Deno.test("classify() retries the transient Postgres SQLSTATEs", () => {
  for (const code of ["40001", "40P01", "08000", "08006", "08001", "57P01", "53300"]) {
    const verdict = classify(pgError(code));
    assert.equal(verdict.retryable, true, code);
    assert.equal(verdict.kind, "postgres");
  }
});

Deno.test("classify() never retries constraint violations and other SQLSTATEs", () => {
  for (const code of ["23505", "23503", "23502", "23514", "22P02", "42P01", "42501", "P0001"]) {
    assert.equal(classify(pgError(code)).retryable, false, code);
  }
});

Deno.test("classify() retries network failures and timeouts", () => {
  assert.equal(isRetryable(new TypeError("fetch failed")), true);
  assert.equal(isRetryable(new Deno.errors.ConnectionRefused("refused")), true);
  assert.equal(isRetryable(Object.assign(new Error("connect"), { code: "ECONNREFUSED" })), true);
  assert.equal(
    isRetryable(Object.assign(new Error("closed"), { code: "CONNECTION_CLOSED" })),
    true,
  );
  assert.equal(isRetryable(new TimeoutError(100)), true);
  assert.equal(isRetryable(new DOMException("signal timed out", "TimeoutError")), true);
});

Deno.test("classify() does not retry cancellation, deadlines, open breakers or unknown errors", () => {
  assert.equal(classify(new DOMException("aborted", "AbortError")).kind, "cancelled");
  assert.equal(isRetryable(new DOMException("aborted", "AbortError")), false);
  assert.equal(isRetryable(new DeadlineExceededError(1000)), false);
  assert.equal(isRetryable(new CircuitOpenError("db", 1000)), false);
  assert.equal(isRetryable(new Error("bug")), false);
  assert.equal(isRetryable(new TypeError("x is not a function")), false);
  assert.equal(isRetryable("a string"), false);
  assert.equal(isRetryable(Object.assign(new Error("ended"), { code: "CONNECTION_ENDED" })), false);
});

Deno.test("classify() judges a wrapper error by its cause", () => {
  const wrapped = new Error("loading products failed", { cause: pgError("40001") });
  assert.deepEqual(classify(wrapped), {
    retryable: true,
    kind: "postgres",
    reason: "sqlstate_40001",
  });
});

Deno.test("classify() retries Upstash endpoint failures but not Redis error replies", () => {
  const upstash = (message: string, name = "UpstashError") =>
    Object.assign(new Error(message), { name });
  assert.equal(classify(upstash('Service Unavailable, command was: ["get"]')).retryable, true);
  assert.equal(classify(upstash("<html>502</html>", "UpstashJSONParseError")).retryable, true);
  assert.equal(classify(upstash("LOADING Redis is loading the dataset")).retryable, true);
  assert.deepEqual(classify(upstash("ERR unknown command 'nope'")), {
    retryable: false,
    kind: "other",
    reason: "redis_err",
  });
  assert.equal(classify(upstash("WRONGTYPE Operation against a key")).retryable, false);
});
