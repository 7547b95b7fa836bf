import assert from "node:assert/strict";
import { z } from "zod";
import { createFunctionApp } from "../http/create_app.ts";
import { validate, validInput } from "./validate.ts";
import {
  cursor,
  encodeCursor,
  id,
  jsonId,
  pagination,
  queryArray,
  queryBool,
  queryInt,
  sku,
  sort,
  text,
} from "./schemas.ts";

const schemas = {
  query: z.object({
    q: text({ max: 20 }).optional(),
    in_stock: queryBool.optional(),
    tags: queryArray(z.string().max(10)).optional(),
    min: queryInt({ min: 0 }).optional(),
    sort: sort(["price", "name"], "name"),
    ...pagination,
  }).strict(),
  params: z.object({ shop: z.string().regex(/^[a-z]+$/) }),
  body: z.object({
    sku,
    quantity: z.number().int().positive(),
    note: text({ max: 10, multiline: true }).optional(),
  }).strict(),
};

function app() {
  const a = createFunctionApp("t");
  a.post("/:shop", validate(schemas), (c) => c.json(validInput<typeof schemas>(c)));
  return a;
}

function post(path: string, body: BodyInit, type = "application/json") {
  return app().request(path, { method: "POST", headers: { "content-type": type }, body });
}

Deno.test("validate() coerces query strings and applies defaults", async () => {
  const res = await post(
    "/t/acme?q=%20caf%C3%A9%20&in_stock=yes&tags=a,b&tags=c&min=5&sort=-price",
    JSON.stringify({ sku: " ab-12 ", quantity: 2 }),
  );
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body.query, {
    q: "café",
    in_stock: true,
    tags: ["a", "b", "c"],
    min: 5,
    sort: { field: "price", direction: "desc" },
    limit: 20,
  });
  assert.deepEqual(body.body, { sku: "AB-12", quantity: 2 });
  assert.deepEqual(body.params, { shop: "acme" });
});

Deno.test("validate() lists every invalid query and path field in one 400", async () => {
  const res = await post("/t/ACME?min=-1&limit=500&sort=color&extra=1", "{}");
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const problem = await res.json();
  const fields = problem.errors.map((e: { in: string; pointer: string }) => `${e.in}:${e.pointer}`)
    .sort();
  assert.deepEqual(fields, [
    "body:/quantity",
    "body:/sku",
    "path:/shop",
    "query:/extra",
    "query:/limit",
    "query:/min",
    "query:/sort",
  ]);
});

Deno.test("validate() answers 422 for a well-formed body that breaks the rules", async () => {
  const res = await post("/t/acme", JSON.stringify({ sku: "x", quantity: -3, admin: true }));
  assert.equal(res.status, 422);
  const problem = await res.json();
  assert.equal(problem.type, "https://comptoir.dev/problems/validation-failed");
  const codes = Object.fromEntries(
    problem.errors.map((e: { pointer: string; code: string }) => [e.pointer, e.code]),
  );
  assert.deepEqual(codes, {
    "/sku": "invalid_format",
    "/quantity": "too_small",
    "/admin": "unknown_field",
  });
});

Deno.test("validate() answers 400 for malformed JSON and for bytes that are not UTF-8", async () => {
  const malformed = await post("/t/acme", '{"sku": ');
  assert.equal(malformed.status, 400);
  assert.equal((await malformed.json()).type, "https://comptoir.dev/problems/invalid-json");
  const latin1 = await post("/t/acme", new Uint8Array([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
  assert.equal(latin1.status, 400);
  assert.equal((await latin1.json()).type, "https://comptoir.dev/problems/invalid-encoding");
});

Deno.test("text() strips control characters, normalises to NFC and caps length after cleaning", () => {
  const s = text({ max: 5 });
  assert.equal(s.parse(" Cafe\u0301\u0000\u202E "), "Café");
  assert.equal(s.safeParse("abcdef").success, false);
  assert.equal(s.safeParse("bad\uFFFD").success, false);
  assert.equal(text({ max: 10, multiline: true }).parse("a\nb\u0007"), "a\nb");
});

Deno.test("validate() caps the reported errors and bounds what it echoes", async () => {
  const app = createFunctionApp("f");
  app.get("/x", validate({ query: z.object({}).strict() }), (c) => c.text("ok"));
  const keys = Array.from({ length: 500 }, (_, i) => `k${i}=1`).join("&");
  const res = await app.request(`/f/x?${keys}&${"y".repeat(5000)}=1`);
  assert.equal(res.status, 400);
  const body = await res.json();
  assert.equal(body.errors.length, 20);
  assert.equal(body.error_count, 501);
  assert.equal(body.errors_truncated, true);
  const few = await (await app.request("/f/x?a=1")).json();
  assert.equal(few.error_count, 1);
  assert.equal(few.errors_truncated, undefined);
  const long = await (await app.request(`/f/x?${"y".repeat(5000)}=1`)).json();
  assert.ok(long.errors[0].pointer.length <= 200);
});

Deno.test("id and jsonId take integers only, in range", () => {
  assert.equal(id.parse("200"), 200);
  for (const bad of ["0xC8", "2e2", "true", "1.0", "-1", "0", " 1", "9007199254740992", 200]) {
    assert.equal(id.safeParse(bad).success, false, String(bad));
  }
  assert.equal(jsonId.parse(200), 200);
  for (const bad of [true, "200", [[200]], 2.5, 0, 1e300]) {
    assert.equal(jsonId.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

Deno.test("cursor refuses positions the server could not have made", () => {
  const enc = (v: unknown) => encodeCursor(v);
  assert.deepEqual(cursor.parse(enc({ price_cents: 100, id: 3 })), { price_cents: 100, id: 3 });
  assert.deepEqual(cursor.parse(enc({ rank: 0.25, id: 3 })), { rank: 0.25, id: 3 });
  for (const bad of [{ id: 1e308 }, { id: [1] }, { id: { a: 1 } }, { name: "x".repeat(301) }]) {
    assert.equal(cursor.safeParse(enc(bad)).success, false, JSON.stringify(bad));
  }
});
