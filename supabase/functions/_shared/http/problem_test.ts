import assert from "node:assert/strict";
import { createFunctionApp } from "./create_app.ts";
import { CircuitOpenError } from "../resilience/errors.ts";
import {
  circuitOpenProblem,
  defineProblemTypes,
  describeStatus,
  problem,
  PROBLEM_TYPES,
} from "./problem.ts";

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
  assert.equal(body.title, PROBLEM_TYPES["dependency-unavailable"].title);
  assert.equal(body.retry_after_ms, 1500);
  assert.equal(body.dependency, "postgres");
});

Deno.test("problem() takes the status and title of its type from the catalog", () => {
  assert.deepEqual(problem("invalid-json", "The request body is not valid JSON"), {
    type: "invalid-json",
    status: 400,
    title: "Invalid JSON body",
    detail: "The request body is not valid JSON",
  });
  const shop = defineProblemTypes({
    "insufficient-stock": { status: 409, title: "Not enough stock" },
  });
  assert.equal(problem("insufficient-stock", undefined, {}, shop).status, 409);
});

Deno.test("defineProblemTypes() refuses a slug that is not kebab case or a status that is no error", () => {
  assert.throws(() => defineProblemTypes({ "Bad_Slug": { status: 400, title: "x" } }), TypeError);
  assert.throws(() => defineProblemTypes({ "fine": { status: 200, title: "x" } }), RangeError);
});

Deno.test("describeStatus() lists the titles and types of a status, a function's own included", () => {
  assert.equal(describeStatus(504), "Gateway Timeout: deadline-exceeded, upstream-timeout");
  assert.equal(
    describeStatus(409, { "insufficient-stock": { status: 409, title: "Not enough stock" } }),
    "Conflict / Not enough stock: constraint-violation, insufficient-stock",
  );
  assert.equal(describeStatus(418), "Error");
});
