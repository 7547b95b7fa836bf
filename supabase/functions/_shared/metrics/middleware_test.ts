import assert from "node:assert/strict";
import { Hono } from "hono";
import { createFunctionApp } from "../http/create_app.ts";
import { ProblemError, problems } from "../http/problem.ts";
import { disableTestFaults, enableTestFaults, FAULT_HEADER } from "./fault_switch.ts";
import { httpMetrics } from "./middleware.ts";
import { metricsPipeline } from "./pipeline.ts";
import { MetricsRegistry } from "./registry.ts";

/** An app built like every function's, recording into this isolate's pipeline. */
function shopApp() {
  const app = createFunctionApp("api");
  app.get("/v1/products/:id", (c) => c.json({ id: c.req.param("id") }));
  app.post("/v1/orders", (c) => c.json({}, 201));
  app.get("/v1/admin", () => {
    throw new ProblemError(problems.forbidden("Admins only"));
  });
  app.get("/v1/crash", () => {
    throw new Error("boom");
  });
  return app;
}

/** `requests_total` samples drained from the pipeline, as `route method class` → count. */
function drainRequests(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of metricsPipeline().registry.drain()) {
    if (s.name !== "comptoir_http_requests_total") continue;
    const labels = Object.fromEntries(
      [...s.labels.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    assert.equal(labels.function, "api");
    counts.set(`${labels.route} ${labels.method} ${labels.status_class}`, s.value);
  }
  return counts;
}

Deno.test("httpMetrics() counts each response under its route template, never the raw path", async () => {
  drainRequests();
  const app = shopApp();
  await app.request("/api/v1/products/7");
  await app.request("/api/v1/products/8");
  await app.request("/api/v1/products/9", { method: "HEAD" });
  assert.deepEqual(
    drainRequests(),
    new Map([
      ["/api/v1/products/:id GET 2xx", 2],
      ["/api/v1/products/:id HEAD 2xx", 1],
    ]),
  );
});

Deno.test("httpMetrics() takes the status class after the error handler", async () => {
  drainRequests();
  const app = shopApp();
  assert.equal((await app.request("/api/v1/admin")).status, 403);
  assert.equal((await app.request("/api/v1/crash")).status, 500);
  assert.equal(
    (await app.request("/api/v1/orders", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    })).status,
    415,
  );
  assert.deepEqual(
    drainRequests(),
    new Map([
      ["/api/v1/admin GET 4xx", 1],
      ["/api/v1/crash GET 5xx", 1],
      ["/api/v1/orders POST 4xx", 1],
    ]),
  );
});

Deno.test("httpMetrics() counts 404, 405 and CORS preflights as unmatched", async () => {
  drainRequests();
  const app = shopApp();
  assert.equal((await app.request("/api/v1/nothing/here")).status, 404);
  assert.equal((await app.request("/api/v1/products/7", { method: "DELETE" })).status, 405);
  const preflight = await app.request("/api/v1/orders", {
    method: "OPTIONS",
    headers: { origin: "https://shop.example", "access-control-request-method": "POST" },
  });
  assert.equal(preflight.status, 204);
  assert.deepEqual(
    drainRequests(),
    new Map([
      ["unmatched GET 4xx", 1],
      ["unmatched DELETE 4xx", 1],
      ["unmatched OPTIONS 2xx", 1],
    ]),
  );
});

Deno.test("httpMetrics() observes the duration and returns in-flight to zero", async () => {
  const registry = new MetricsRegistry();
  let recorded = 0;
  const app = new Hono().basePath("/health");
  app.use(httpMetrics({ functionName: "health", registry, onRecord: () => recorded++ }));
  let inFlightDuring = -1;
  app.get("/slow", async (c) => {
    inFlightDuring = registry.drain().find((s) => s.name === "comptoir_http_requests_in_flight")!
      .value;
    await new Promise((resolve) => setTimeout(resolve, 30));
    return c.text("ok");
  });
  await app.request("/health/slow");
  assert.equal(inFlightDuring, 1);
  assert.equal(recorded, 1);
  const batch = registry.drain();
  const inFlight = batch.find((s) => s.name === "comptoir_http_requests_in_flight");
  assert.equal(inFlight?.value, 0);
  const sum = batch.find((s) => s.name === "comptoir_http_request_duration_seconds_sum")!;
  assert.ok(sum.value >= 0.03 && sum.value < 1, `duration ${sum.value}`);
  const under = batch.find((s) =>
    s.name === "comptoir_http_request_duration_seconds_bucket" && s.le === "0.025"
  );
  assert.equal(under?.value, 0);
});

Deno.test("httpMetrics() leaves a function outside the contract uncounted", async () => {
  const registry = new MetricsRegistry();
  const app = new Hono().basePath("/billing");
  app.use(httpMetrics({ functionName: "billing", registry }));
  app.get("/", (c) => c.text("ok"));
  assert.equal((await app.request("/billing")).status, 200);
  assert.deepEqual(registry.drain(), []);
});

Deno.test("the fault switch answers 500 for the route only while enabled", async () => {
  drainRequests();
  const faulty = { headers: { [FAULT_HEADER]: "500" } };
  assert.equal((await shopApp().request("/api/v1/products/1", faulty)).status, 200);
  enableTestFaults();
  const app = shopApp();
  try {
    const res = await app.request("/api/v1/products/1", faulty);
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    assert.equal((await res.json()).status, 500);
    assert.equal(
      (await app.request("/api/v1/products/1", { headers: { [FAULT_HEADER]: "404" } })).status,
      200,
    );
  } finally {
    disableTestFaults();
  }
  // Off again: the middleware lets the request through.
  assert.equal((await app.request("/api/v1/products/1", faulty)).status, 200);
  assert.deepEqual(
    drainRequests(),
    new Map([
      ["/api/v1/products/:id GET 2xx", 3],
      ["/api/v1/products/:id GET 5xx", 1],
    ]),
  );
});
