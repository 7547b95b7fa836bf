import assert from "node:assert/strict";
import { upstashFromEnv } from "./upstash_client.ts";

const env = (vars: Record<string, string>) => new Map(Object.entries(vars));

Deno.test("upstashFromEnv() is null without Upstash settings and a client with both", () => {
  assert.equal(upstashFromEnv(env({})), null);
  const upstash = upstashFromEnv(env({
    UPSTASH_REDIS_REST_URL: "https://eu1-example.upstash.io/",
    UPSTASH_REDIS_REST_TOKEN: "secret-token",
  }));
  assert.ok(upstash);
  assert.equal(upstash.origin, "https://eu1-example.upstash.io");
  assert.ok(!JSON.stringify(upstash.origin).includes("secret"));
});

Deno.test("upstashFromEnv() refuses half a configuration and non-http URLs", () => {
  assert.throws(
    () => upstashFromEnv(env({ UPSTASH_REDIS_REST_URL: "https://x.upstash.io" })),
    /Set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN/,
  );
  assert.throws(
    () =>
      upstashFromEnv(env({
        UPSTASH_REDIS_REST_URL: "redis://x.upstash.io:6379",
        UPSTASH_REDIS_REST_TOKEN: "t",
      })),
    /must be an http\(s\) URL/,
  );
  assert.throws(
    () =>
      upstashFromEnv(env({ UPSTASH_REDIS_REST_URL: "not a url", UPSTASH_REDIS_REST_TOKEN: "t" })),
    /not a valid URL/,
  );
});

Deno.test("upstashFromEnv() cuts a command off at its timeout", async () => {
  // A server that accepts the request and never answers, like a hung proxy.
  const pending: Array<(r: Response) => void> = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Promise<Response>((resolve) => pending.push(resolve)),
  );
  try {
    const { port } = server.addr as Deno.NetAddr;
    const upstash = upstashFromEnv(
      env({ UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`, UPSTASH_REDIS_REST_TOKEN: "t" }),
      { timeoutMs: 100 },
    )!;
    const started = performance.now();
    await assert.rejects(upstash.redis.get("k"));
    // A command cut off by its timeout is not retried: the timeout is its whole budget.
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 90 && elapsed < 500, `${elapsed} ms`);
  } finally {
    for (const resolve of pending) resolve(new Response(JSON.stringify({ result: null })));
    await server.shutdown();
  }
});
