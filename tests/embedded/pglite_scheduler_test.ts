import assert from "node:assert/strict";
import { startDevStack } from "../../scripts/lib/dev_stack.ts";

Deno.test("on PGlite the dev stack runs every scheduled job definition itself", async () => {
  const saved = Deno.env.toObject();
  const stack = await startDevStack({ port: 0, scale: 1, accessLog: false });
  try {
    assert.equal(stack.mode, "pglite");
    const scheduler = stack.scheduler;
    assert.ok(scheduler, "pg_cron is absent on PGlite, so the dev scheduler must run");
    const names = scheduler.jobs().map((j) => j.name);
    assert.ok(names.includes("refresh-sales-dashboard-realtime"), names.join(", "));
    assert.ok(names.includes("cache-cleanup"));
    assert.ok(names.includes("purge-idempotency-keys"));
    assert.ok(names.includes("expire-pending-orders"));
    for (const job of scheduler.jobs()) assert.ok(job.nextRun instanceof Date, job.name);
    for (const name of names) {
      const run = await scheduler.runNow(name);
      assert.equal(run.outcome, "succeeded", `${name}: ${run.error}`);
    }
  } finally {
    await stack.stop();
    for (const key of Object.keys(Deno.env.toObject())) {
      if (!(key in saved)) Deno.env.delete(key);
    }
  }
});
