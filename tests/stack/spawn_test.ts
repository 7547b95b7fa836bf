/**
 * Spawning the stack's programs: a missing program is one StackError that names its package, never
 * a `Failed to spawn ... entity not found` stack trace, whichever helper spawns it.
 */
import assert from "node:assert/strict";
import { run, spawn, StackError } from "../../scripts/lib/command.ts";
import { spawnLogged } from "../../scripts/lib/prometheus.ts";

Deno.test("spawn() of a missing program names the package that provides it", () => {
  assert.throws(
    () => spawn("/nonexistent/bin/redis-server", { args: ["--version"] }),
    (err) =>
      err instanceof StackError &&
      err.message === "missing programs: redis-server (Debian package redis-server) — install " +
          "them with: sudo apt-get install -y redis-server",
  );
});

Deno.test("run() of a program the manifest does not know says it is not installed", async () => {
  await assert.rejects(
    run("/nonexistent/bin/comptoir-unknown", []),
    (err) =>
      err instanceof StackError &&
      err.message === "/nonexistent/bin/comptoir-unknown is not installed or not on PATH",
  );
});

Deno.test("spawnLogged() runs a program into its log, or names the package when it is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "comptoir-spawn-" });
  try {
    const child = await spawnLogged("promtool", ["--version"], `${dir}/promtool.log`);
    assert.equal(await child.exited, 0);
    assert.match(await Deno.readTextFile(`${dir}/promtool.log`), /promtool, version \d+/);
    await assert.rejects(
      spawnLogged("/nonexistent/bin/prometheus-alertmanager", [], `${dir}/am.log`),
      (err) =>
        err instanceof StackError &&
        /\(Debian package prometheus-alertmanager\)/.test(err.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
