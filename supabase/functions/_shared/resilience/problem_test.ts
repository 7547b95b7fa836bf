import assert from "node:assert/strict";
import { createFunctionApp } from "../http/create_app.ts";
import { CircuitOpenError, DeadlineExceededError } from "./errors.ts";
import { circuitOpenProblem, resilienceProblem } from "./problem.ts";

Deno.test("circuitOpenProblem() answers 503 with Retry-After rounded up and retry_after_ms", async () => {
  const app = createFunctionApp("api");
  app.get("/orders", () => {
    throw circuitOpenProblem(new CircuitOpenError("postgres", 1500));
  });
  const res = await app.request("/api/orders");
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "2");
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const body = await res.json();
  assert.equal(body.type, "https://comptoir.dev/problems/dependency-unavailable");
  assert.equal(body.retry_after_ms, 1500);
  assert.equal(body.dependency, "postgres");
});

Deno.test("resilienceProblem() maps deadlines to 504 and leaves other errors alone", () => {
  assert.equal(resilienceProblem(new DeadlineExceededError(100))?.problem.status, 504);
  assert.equal(resilienceProblem(new CircuitOpenError("x", 10))?.headers instanceof Object, true);
  assert.equal(resilienceProblem(new Error("other")), undefined);
});
