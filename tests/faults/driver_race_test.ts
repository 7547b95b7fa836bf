/**
 * The postgres.js race that killed the gateway when Postgres went away (porsager/postgres#1154,
 * #1208): a connection whose backend dies while a small write is queued. Run in a child process so
 * that a crash is observed, not suffered: with postgres.js 3.4.9 it exits 1 with the uncaught
 * TypeError from `nextWrite`; with the driver in deno.json it survives and every query rejects
 * with a connection error the API turns into a 503.
 */
import assert from "node:assert/strict";
import { testDatabaseUrl } from "../_support/dev_server.ts";
import { classify } from "@shared/resilience/classify.ts";

const FIXTURE = new URL("./fixtures/reserved_backend_killed.ts", import.meta.url).pathname;

Deno.test("a reserved connection whose backend is terminated fails its queries, the process lives", async () => {
  for (let round = 1; round <= 3; round++) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", FIXTURE, testDatabaseUrl()],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    const err = new TextDecoder().decode(stderr);
    assert.doesNotMatch(err, /Uncaught|reading 'write'/, `round ${round} crashed:\n${err}`);
    assert.equal(code, 0, `round ${round} exited ${code}:\n${out}\n${err}`);
    const steps = Object.fromEntries(
      out.trim().split("\n").map((line) => JSON.parse(line)).map((s) => [s.step, s.outcome]),
    );
    // The query in flight and the next one on the dead connection fail with errors the breaker
    // and the problem catalog know as "database unavailable"; the pool then serves again.
    for (const name of ["in flight", "after"]) {
      const verdict = classify({ code: steps[name], severity: "FATAL" });
      assert.ok(verdict.retryable, `${name}: ${steps[name]} is not a connection failure`);
    }
    assert.equal(steps.pool, "answered");
    assert.equal(steps.exit, "survived");
  }
});
