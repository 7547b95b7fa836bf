import assert from "node:assert/strict";
import {
  boundLabel,
  CURRENCY_LABEL,
  escapeLabelValue,
  FUNCTION_LABEL,
  METHOD_LABEL,
  OPERATION_LABEL,
  ROUTE_LABEL,
  sqlOperation,
  sqlstateClass,
  statusClass,
} from "./labels.ts";

Deno.test("boundLabel() keeps listed values and maps others to the catch-all", () => {
  assert.equal(boundLabel(METHOD_LABEL, "get"), "GET");
  assert.equal(boundLabel(METHOD_LABEL, "PROPFIND"), "OTHER");
  assert.equal(boundLabel(CURRENCY_LABEL, "eur"), "EUR");
  assert.equal(boundLabel(CURRENCY_LABEL, "XBT"), "OTHER");
  assert.equal(boundLabel(OPERATION_LABEL, "MERGE"), "other");
  assert.equal(boundLabel(ROUTE_LABEL, "/api/v1/products/:id"), "/api/v1/products/:id");
  assert.equal(boundLabel(ROUTE_LABEL, "not a route"), "unmatched");
});

Deno.test("boundLabel() refuses a value outside a set that has no catch-all", () => {
  assert.equal(boundLabel(FUNCTION_LABEL, "api"), "api");
  assert.equal(boundLabel(FUNCTION_LABEL, "billing"), undefined);
});

Deno.test("statusClass() gives the class of the status, 5xx for nonsense", () => {
  assert.deepEqual([101, 200, 304, 404, 503].map(statusClass), ["1xx", "2xx", "3xx", "4xx", "5xx"]);
  assert.equal(statusClass(0), "5xx");
});

Deno.test("sqlstateClass() follows the contract for server and client errors", () => {
  assert.equal(sqlstateClass({ code: "23505" }), "23");
  assert.equal(sqlstateClass({ code: "40001" }), "40");
  assert.equal(sqlstateClass({ code: "ECONNREFUSED" }), "08");
  assert.equal(sqlstateClass({ code: "CONNECT_TIMEOUT" }), "08");
  assert.equal(sqlstateClass({ code: "ZZ000" }), "unknown");
  assert.equal(sqlstateClass(new Error("boom")), "unknown");
  assert.equal(sqlstateClass(null), "unknown");
});

Deno.test("sqlOperation() reads the leading keyword and the data-modifying part of WITH", () => {
  assert.equal(sqlOperation("SELECT 1"), "select");
  assert.equal(
    sqlOperation("  -- note\n insert into t values (1) on conflict do nothing"),
    "insert",
  );
  assert.equal(sqlOperation("with x as (delete from t returning *) select * from x"), "delete");
  assert.equal(sqlOperation("with x as (select 1) select * from x"), "select");
  assert.equal(sqlOperation("begin"), "transaction");
  assert.equal(sqlOperation("vacuum t"), "other");
});

Deno.test("escapeLabelValue() escapes backslash, quote and line feed", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeLabelValue("/plain"), "/plain");
});
