import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";

Deno.test("health reports the database up through supabase-js on the local Postgres", async () => {
  const server = await startDevServer({ dbUrl: testDatabaseUrl() });
  try {
    const supabase = createClient(server.url, server.anonKey);
    const { data, error } = await supabase.functions.invoke("health", { method: "GET" });
    assert.equal(error, null);
    assert.equal(data.status, "ok");
    assert.equal(data.checks.database.status, "up");
    assert.equal(typeof data.checks.database.latency_ms, "number");
    assert.equal(typeof data.version, "string");
    assert.ok(data.uptime_seconds >= 0);
    assert.match(server.output(), /"path":"\/functions\/v1\/health","status":200/);
  } finally {
    await server.stop();
  }
});

Deno.test("health answers 503 with the cause when the database is unreachable", async () => {
  const { stdout, code } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./fixtures/health_with_dead_database.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(code, 0);
  const { status, contentType, body } = JSON.parse(new TextDecoder().decode(stdout));
  assert.equal(status, 503);
  assert.equal(contentType, "application/json");
  assert.equal(body.status, "unavailable");
  assert.equal(body.checks.database.status, "down");
  assert.equal(body.checks.database.error, "unreachable");
});

Deno.test("health liveness answers without a database", async () => {
  const { default: app } = await import("../../supabase/functions/health/app.ts");
  const res = await app.request("/health/live");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: "ok" });
});
