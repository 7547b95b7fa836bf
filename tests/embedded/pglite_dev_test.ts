import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { startDevServer } from "../_support/dev_server.ts";

Deno.test("dev server on embedded PGlite serves health through supabase-js with demo data", async () => {
  const server = await startDevServer({ scale: 1, timeoutMs: 120_000 });
  try {
    assert.match(server.output(), /embedded PGlite/);
    assert.match(server.output(), /demo data seeded: 1000 orders/);
    assert.match(
      server.output(),
      /const supabase = createClient\("http:\/\/127\.0\.0\.1:\d+", "ey/,
    );
    const supabase = createClient(server.url, server.anonKey);
    const { data, error } = await supabase.functions.invoke("health", { method: "GET" });
    assert.equal(error, null);
    assert.equal(data.checks.database.status, "up");
  } finally {
    await server.stop();
  }
});
