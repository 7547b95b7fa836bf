import assert from "node:assert/strict";
import { createFunctionApp } from "./create_app.ts";
import { ProblemError, problems } from "./problem.ts";

function testApp() {
  const app = createFunctionApp("shop", { maxBodyBytes: 32 });
  app.get("/items/:id", (c) => c.json({ id: c.req.param("id") }));
  app.post("/items", async (c) => c.json(await c.req.json(), 201));
  app.get("/forbidden", () => {
    throw new ProblemError(problems.forbidden("Admins only"));
  });
  app.get("/crash", () => {
    throw new Error("boom");
  });
  return app;
}

async function problemOf(res: Response) {
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  return await res.json();
}

Deno.test("createFunctionApp() serves routes under /<name>", async () => {
  const res = await testApp().request("/shop/items/7");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { id: "7" });
});

Deno.test("createFunctionApp() answers 404 problem+json for an unknown route", async () => {
  const res = await testApp().request("/shop/nothing");
  assert.equal(res.status, 404);
  const body = await problemOf(res);
  assert.equal(body.type, "https://comptoir.dev/problems/not-found");
  assert.equal(body.instance, "/shop/nothing");
});

Deno.test("createFunctionApp() answers 405 with Allow for a wrong method", async () => {
  const res = await testApp().request("/shop/items/7", { method: "DELETE" });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get("allow"), "GET, HEAD, OPTIONS");
  assert.equal((await problemOf(res)).type, "https://comptoir.dev/problems/method-not-allowed");
});

Deno.test("createFunctionApp() answers 413 for a body over the limit", async () => {
  const res = await testApp().request("/shop/items", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "x".repeat(100) }),
  });
  assert.equal(res.status, 413);
  assert.equal((await problemOf(res)).limit_bytes, 32);
});

Deno.test("createFunctionApp() answers 413 for a chunked body without content-length", async () => {
  const body = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(JSON.stringify({ name: "y".repeat(64) })));
      controller.close();
    },
  });
  const res = await testApp().request(
    new Request("http://x/shop/items", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }),
  );
  assert.equal(res.status, 413);
  await res.body?.cancel();
});

Deno.test("createFunctionApp() answers 415 for a body that is not JSON", async () => {
  const res = await testApp().request("/shop/items", {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "hello",
  });
  assert.equal(res.status, 415);
  assert.deepEqual((await problemOf(res)).accepted, ["application/json"]);
});

Deno.test("createFunctionApp() accepts application/json with a charset", async () => {
  const res = await testApp().request("/shop/items", {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    body: "{}",
  });
  assert.equal(res.status, 201);
});

Deno.test("createFunctionApp() turns a thrown ProblemError into its response", async () => {
  const res = await testApp().request("/shop/forbidden");
  assert.equal(res.status, 403);
  assert.equal((await problemOf(res)).detail, "Admins only");
});

Deno.test("createFunctionApp() hides unexpected errors behind a 500 problem", async () => {
  const original = console.error;
  const logged: string[] = [];
  console.error = (line: string) => logged.push(line);
  try {
    const res = await testApp().request("/shop/crash");
    assert.equal(res.status, 500);
    const body = await problemOf(res);
    assert.equal(body.type, "https://comptoir.dev/problems/internal");
    assert.ok(!JSON.stringify(body).includes("boom"));
    assert.match(logged[0], /boom/);
  } finally {
    console.error = original;
  }
});

Deno.test("createFunctionApp() answers a CORS preflight", async () => {
  const res = await testApp().request("/shop/items", {
    method: "OPTIONS",
    headers: {
      origin: "http://localhost:3000",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, x-client-info, apikey",
    },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.match(res.headers.get("access-control-allow-headers") ?? "", /x-client-info/);
});

Deno.test("createFunctionApp() sets a request id", async () => {
  const res = await testApp().request("/shop/items/1", { headers: { "x-request-id": "abc-123" } });
  assert.equal(res.headers.get("x-request-id"), "abc-123");
});
