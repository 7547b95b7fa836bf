/** The local Upstash proxy speaks the REST API the way @upstash/redis expects it. */
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { stripUpstashFlags } from "../../scripts/upstash_proxy.ts";
import { testRedis, upstashClient } from "./support.ts";

Deno.test("stripUpstashFlags() removes only the Upstash flag from a script shebang", () => {
  assert.equal(stripUpstashFlags("#!lua flags=allow-key-locking\nreturn 1"), "\nreturn 1");
  assert.equal(
    stripUpstashFlags("#!lua flags=no-writes,allow-key-locking\nreturn 1"),
    "#!lua flags=no-writes\nreturn 1",
  );
  assert.equal(stripUpstashFlags("return 1"), "return 1");
});

Deno.test("upstash proxy serves the REST API in front of redis-server", async (t) => {
  const local = await testRedis();
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${local.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${local.token}`, ...headers },
      body: JSON.stringify(body),
    });
  try {
    await t.step("refuses a wrong token with 401 and an error body", async () => {
      const res = await fetch(local.url, {
        method: "POST",
        headers: { authorization: "Bearer nope" },
        body: '["PING"]',
      });
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { error: "Unauthorized" });
    });

    await t.step("answers single commands, errors and base64 encoding like Upstash", async () => {
      assert.deepEqual(await (await post("/", ["SET", "greeting", "héllo"])).json(), {
        result: "OK",
      });
      assert.deepEqual(await (await post("/", ["GET", "greeting"])).json(), { result: "héllo" });
      const encoded = await post("/", ["GET", "greeting"], { "upstash-encoding": "base64" });
      const { result } = await encoded.json();
      assert.equal(
        new TextDecoder().decode(Uint8Array.from(atob(result), (c) => c.charCodeAt(0))),
        "héllo",
      );
      assert.deepEqual(await (await post("/", ["INCRBY", "n", 5])).json(), { result: 5 });
      const bad = await post("/", ["NOSUCHCOMMAND"]);
      assert.equal(bad.status, 400);
      assert.match((await bad.json()).error, /^ERR unknown command/);
    });

    await t.step("runs pipelines and transactions", async () => {
      const pipeline =
        await (await post("/pipeline", [["SET", "a", "1"], ["INCR", "a"], ["LPUSH", "a", "x"]]))
          .json();
      assert.deepEqual(pipeline[0], { result: "OK" });
      assert.deepEqual(pipeline[1], { result: 2 });
      assert.match(pipeline[2].error, /^WRONGTYPE/);
      const multi = await (await post("/multi-exec", [["INCR", "m"], ["INCR", "m"]])).json();
      assert.deepEqual(multi, [{ result: 1 }, { result: 2 }]);
    });

    await t.step("maps EVALSHA of an Upstash-flagged script to the rewritten one", async () => {
      const redis: Redis = upstashClient(local);
      const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])";
      const sha = await redis.scriptLoad(script);
      const expected = [
        ...new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(script))),
      ]
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      assert.equal(sha, expected);
      assert.equal(await redis.evalsha(sha, ["counter"], []), 1);
      assert.equal(await redis.eval(script, ["counter"], []), 2);
      assert.equal(await redis.evalsha(sha, ["counter"], []), 3);
    });

    await t.step("answers an error while redis-server is down and recovers after", async () => {
      await local.stopRedis();
      const down = await post("/", ["PING"]);
      assert.equal(down.status, 503);
      assert.match((await down.json()).error, /redis unavailable/);
      await local.startRedis();
      assert.deepEqual(await (await post("/", ["PING"])).json(), { result: "PONG" });
    });
  } finally {
    await local.stop();
  }
});
