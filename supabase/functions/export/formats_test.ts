import assert from "node:assert/strict";
import { ProblemError } from "../_shared/http/problem.ts";
import { acceptsGzip, contentDisposition, negotiateFormat } from "./formats.ts";

Deno.test("negotiateFormat() prefers format=, then the best Accept match, then CSV", () => {
  assert.equal(negotiateFormat("jsonl", "text/csv"), "jsonl");
  assert.equal(negotiateFormat("ndjson", undefined), "jsonl");
  assert.equal(negotiateFormat(undefined, undefined), "csv");
  assert.equal(negotiateFormat(undefined, "*/*"), "csv");
  assert.equal(negotiateFormat(undefined, "application/x-ndjson"), "jsonl");
  assert.equal(negotiateFormat(undefined, "text/csv;q=0.5, application/json"), "json");
  assert.equal(negotiateFormat(undefined, "application/json;q=0, text/csv"), "csv");
});

Deno.test("negotiateFormat() answers 406 when Accept names no export format", () => {
  assert.throws(() => negotiateFormat(undefined, "application/xml"), (err: unknown) => {
    assert.ok(err instanceof ProblemError);
    assert.equal(err.problem.status, 406);
    return true;
  });
  assert.throws(() => negotiateFormat(undefined, "text/csv;q=0"), ProblemError);
});

Deno.test("acceptsGzip() follows Accept-Encoding, q=0 included", () => {
  assert.equal(acceptsGzip("gzip, deflate, br"), true);
  assert.equal(acceptsGzip("br;q=1, gzip;q=0"), false);
  assert.equal(acceptsGzip("*"), true);
  assert.equal(acceptsGzip("identity"), false);
  assert.equal(acceptsGzip(undefined), false);
});

Deno.test("contentDisposition() names the page's file in ASCII", () => {
  const at = new Date("2026-12-04T01:02:03.456Z");
  assert.equal(
    contentDisposition("orders", "csv", at, 1),
    'attachment; filename="orders-20261204T010203Z.csv"',
  );
  assert.equal(
    contentDisposition("order-lines", "jsonl", at, 3),
    'attachment; filename="order-lines-20261204T010203Z-page-3.jsonl"',
  );
});
