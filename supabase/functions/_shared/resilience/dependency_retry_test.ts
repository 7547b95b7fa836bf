import assert from "node:assert/strict";
import { Hono } from "hono";
import { metricsPipeline } from "../metrics/pipeline.ts";
import { requestDeadline } from "./deadline_middleware.ts";
import { retryDependency } from "./dependency_retry.ts";

function retries(dependency: string, outcome: string): number {
  const key = `dependency="${dependency}",outcome="${outcome}"`;
  return metricsPipeline().registry.drain()
    .filter((s) => s.name === "comptoir_retries_total" && s.labels === key)
    .reduce((sum, s) => sum + s.value, 0);
}

/** What postgres.js throws when the server terminates the backend. */
function adminShutdown(): Error {
  return Object.assign(new Error("terminating connection due to administrator command"), {
    name: "PostgresError",
    code: "57P01",
    severity: "FATAL",
  });
}

Deno.test("retryDependency() retries a transient failure and counts it as recovered", async () => {
  retries("postgres", "recovered");
  let attempts = 0;
  const value = await retryDependency("postgres", () => {
    attempts++;
    return attempts === 1 ? Promise.reject(adminShutdown()) : Promise.resolve("rows");
  }, { baseDelayMs: 1, maxDelayMs: 1 });
  assert.equal(value, "rows");
  assert.equal(attempts, 2);
  assert.equal(retries("postgres", "recovered"), 1);
});

Deno.test("retryDependency() does not retry a permanent failure", async () => {
  retries("postgres", "failed");
  let attempts = 0;
  const duplicate = Object.assign(new Error("duplicate key"), { code: "23505", severity: "ERROR" });
  await assert.rejects(
    retryDependency("postgres", () => {
      attempts++;
      return Promise.reject(duplicate);
    }),
    (err) => err === duplicate,
  );
  assert.equal(attempts, 1);
  assert.equal(retries("postgres", "failed"), 0);
});

Deno.test("retryDependency() gives up once the request's deadline leaves no room to wait", async () => {
  retries("redis", "failed");
  let attempts = 0;
  const app = new Hono();
  app.use(requestDeadline({ timeoutMs: 5_000 }));
  app.get("/", async (c) => {
    await retryDependency("redis", () => {
      attempts++;
      return Promise.reject(new TypeError("fetch failed"));
    }, {
      attempts: 10,
      budgetMs: 60_000,
      baseDelayMs: 2_000,
      maxDelayMs: 10_000,
      random: () => 0.99,
    }).catch(() => {});
    return c.text("done");
  });
  const res = await app.request("/");
  assert.equal(await res.text(), "done");
  // First wait 1980 ms fits in the 5 s deadline; the second (3960 ms) would pass it.
  assert.equal(attempts, 2);
  assert.equal(retries("redis", "failed"), 1);
});
