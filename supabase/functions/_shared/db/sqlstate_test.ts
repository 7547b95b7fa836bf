import assert from "node:assert/strict";
import { classify } from "../resilience/classify.ts";
import { problemFromDbError } from "./errors.ts";
import { sqlStateRule } from "./sqlstate.ts";

const pgError = (code: string) =>
  Object.assign(new Error(`sqlstate ${code}`), { code, severity: "ERROR" });

Deno.test("sqlStateRule() is the one answer for the HTTP status, retries and the breaker", () => {
  const cases: [string, number | undefined, boolean][] = [
    ["08006", 503, true], // connection failure
    ["57P01", 503, true], // admin shutdown
    ["57P02", 503, true], // crash shutdown: was a 500 at the edge while retries took it as transient
    ["57P03", 503, true], // cannot connect now
    ["53300", 503, true], // too many connections
    ["57014", 503, false], // statement timeout: answered 503, never retried
    ["40001", 503, true], // serialization failure
    ["40P01", 503, true], // deadlock
    ["22003", 400, false], // numeric out of range
    ["23505", 409, false], // unique violation
    ["42501", 403, false], // insufficient privilege
    ["42P01", undefined, false], // undefined table: a bug, a 500
  ];
  for (const [code, status, retryable] of cases) {
    assert.equal(sqlStateRule(code).retryable, retryable, code);
    assert.equal(classify(pgError(code)).retryable, retryable, code);
    assert.equal(problemFromDbError(pgError(code))?.problem.status, status, code);
  }
});

Deno.test("problemFromDbError() leaves codes of a function's own class to that function", () => {
  assert.equal(problemFromDbError(pgError("CT410")), undefined);
  assert.equal(sqlStateRule("CT410").kind, "other");
});
