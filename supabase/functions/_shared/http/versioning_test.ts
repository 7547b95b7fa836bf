import assert from "node:assert/strict";
import { Hono } from "hono";
import { apiVersioning } from "./versioning.ts";

const options = {
  basePath: "/api",
  supported: ["v1", "v2"],
  defaultVersion: "v1",
  deprecated: {
    v1: {
      deprecatedAt: new Date("2026-09-01T00:00:00Z"),
      sunsetAt: new Date("2027-06-30T00:00:00Z"),
      successor: "v2",
    },
  },
  unversioned: ["/api/openapi.json"],
};

const versioning = apiVersioning(options);
const app = new Hono({ getPath: versioning.getPath }).basePath("/api");
app.use(versioning.middleware);
app.all(versioning.unsupportedPath, versioning.unsupported);
app.all("*", (c) => c.json({ path: c.req.path, url: new URL(c.req.url).pathname }));

async function served(url: string, headers: Record<string, string> = {}) {
  const res = await app.fetch(new Request(url, { headers }));
  return { res, body: await res.json() };
}

Deno.test("apiVersioning() takes the version from the path first", async () => {
  const { res, body } = await served("http://x/api/v2/products?api-version=1", {
    "api-version": "1",
  });
  assert.equal(body.path, "/api/v2/products");
  assert.equal(res.headers.get("api-version"), "v2");
  assert.equal(res.headers.get("vary"), "API-Version, Accept-Version");
  assert.equal(res.headers.get("deprecation"), null);
});

Deno.test("apiVersioning() routes by the versioned path without rewriting the request", async () => {
  const { body } = await served("http://x/api/products", { "api-version": "2" });
  assert.equal(body.path, "/api/v2/products");
  // The handler still sees the URL the client asked for.
  assert.equal(body.url, "/api/products");
});

Deno.test("apiVersioning() then API-Version, then Accept-Version, then the query", async () => {
  assert.equal(
    (await served("http://x/api/products?api-version=1", {
      "api-version": "2",
      "accept-version": "1",
    }))
      .body.path,
    "/api/v2/products",
  );
  assert.equal(
    (await served("http://x/api/products?api-version=1", { "accept-version": "v2" })).body.path,
    "/api/v2/products",
  );
  assert.equal((await served("http://x/api/products?api-version=2")).body.path, "/api/v2/products");
  assert.equal((await served("http://x/api/products")).body.path, "/api/v1/products");
});

Deno.test("apiVersioning() answers 400 listing supported versions for an unknown one", async () => {
  for (
    const [url, headers] of [["http://x/api/v9/products", {}], ["http://x/api/products", {
      "api-version": "3",
    }]] as const
  ) {
    const { res, body } = await served(url, headers);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.deepEqual(body.supported_versions, ["v1", "v2"]);
    assert.match(body.detail, /^API version (v9 \(from path\)|3 \(from api-version\)) is not/);
  }
});

Deno.test("apiVersioning() marks a deprecated version with Deprecation, Sunset and Link", async () => {
  const { res } = await served("http://x/api/v1/orders/12");
  assert.equal(res.headers.get("deprecation"), "@1788220800");
  assert.equal(res.headers.get("sunset"), "Wed, 30 Jun 2027 00:00:00 GMT");
  assert.equal(res.headers.get("link"), '</api/v2/orders/12>; rel="successor-version"');
});

Deno.test("apiVersioning() leaves unversioned paths alone", async () => {
  const { res, body } = await served("http://x/api/openapi.json", { "api-version": "9" });
  assert.equal(res.status, 200);
  assert.equal(body.path, "/api/openapi.json");
});
