import assert from "node:assert/strict";
import { openPGlite } from "./pglite.ts";
import { applyCompatTo, migrate } from "./migrate.ts";
import { pgliteRunner } from "./sql_runner.ts";
import {
  functionJobTarget,
  type JobRun,
  loadJobs,
  type ScheduledJob,
  startScheduler,
} from "./scheduler.ts";

const job = (name: string, schedule = "* * * * *", command = `select '${name}'`): ScheduledJob => ({
  name,
  schedule,
  command,
});

/** A promise with its resolve function, to hold a command until the test lets it finish. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => open = resolve);
  return { promise, open };
}

Deno.test("startScheduler() plans each job on its five-field UTC cron schedule", async () => {
  const scheduler = startScheduler(() => Promise.resolve(), [
    job("quarter", "*/15 * * * *"),
    job("nightly", "17 3 * * *"),
    job("listed", "3,18,33,48 * * * *"),
  ]);
  try {
    const next = Object.fromEntries(scheduler.jobs().map((j) => [j.name, j.nextRun!]));
    const now = Date.now();
    for (const date of Object.values(next)) {
      assert.ok(date.getTime() > now, "next runs are in the future");
      assert.equal(date.getUTCSeconds(), 0, "five-field schedules start on the minute");
    }
    assert.equal(next.quarter.getUTCMinutes() % 15, 0);
    assert.ok(next.quarter.getTime() - now <= 15 * 60_000);
    assert.deepEqual([next.nightly.getUTCHours(), next.nightly.getUTCMinutes()], [3, 17]);
    assert.ok(next.nightly.getTime() - now <= 24 * 3600_000);
    assert.ok([3, 18, 33, 48].includes(next.listed.getUTCMinutes()));
  } finally {
    await scheduler.stop();
  }
});

Deno.test("startScheduler() rejects schedules pg_cron would not run, naming the job", () => {
  for (const schedule of ["* * * * * *", "every minute", "61 * * * *", "* * *"]) {
    assert.throws(
      () => startScheduler(() => Promise.resolve(), [job("bad-job", schedule)]),
      (err: unknown) => err instanceof TypeError && err.message.includes("bad-job"),
      schedule,
    );
  }
  assert.throws(
    () => startScheduler(() => Promise.resolve(), [job("twice"), job("twice")]),
    TypeError,
  );
});

Deno.test("runNow() runs the job's command and reports the run", async () => {
  const seen: string[] = [];
  const runs: JobRun[] = [];
  const scheduler = startScheduler(
    (sql) => {
      seen.push(sql);
      return Promise.resolve();
    },
    [job("a", "* * * * *", "select 1"), job("b", "* * * * *", "select 2")],
    { onRun: (run) => runs.push(run) },
  );
  try {
    const run = await scheduler.runNow("b");
    assert.deepEqual(seen, ["select 2"]);
    assert.equal(run.outcome, "succeeded");
    assert.equal(run.job, "b");
    assert.deepEqual(runs, [run]);
    await assert.rejects(scheduler.runNow("missing"), RangeError);
  } finally {
    await scheduler.stop();
  }
});

Deno.test("a failing command is reported and the job keeps running", async () => {
  const errors: string[] = [];
  let fail = true;
  const scheduler = startScheduler(
    () => fail ? Promise.reject(new Error("relation does not exist")) : Promise.resolve(),
    [job("flaky")],
    { onError: (j, err) => errors.push(`${j.name}: ${(err as Error).message}`) },
  );
  try {
    const failed = await scheduler.runNow("flaky");
    assert.equal(failed.outcome, "failed");
    assert.deepEqual(errors, ["flaky: relation does not exist"]);
    fail = false;
    assert.equal((await scheduler.runNow("flaky")).outcome, "succeeded");
    assert.ok(scheduler.jobs()[0].nextRun !== null, "the job is still scheduled");
  } finally {
    await scheduler.stop();
  }
});

Deno.test("a run due while the job runs is queued once, like pg_cron", async () => {
  const held = gate();
  let started = 0;
  const scheduler = startScheduler(async () => {
    started++;
    if (started === 1) await held.promise;
  }, [job("slow")]);
  try {
    const first = scheduler.runNow("slow");
    const queued = scheduler.runNow("slow");
    const dropped = await scheduler.runNow("slow");
    assert.equal(dropped.outcome, "skipped");
    assert.equal(started, 1, "no second run starts while the first runs");
    held.open();
    assert.equal((await first).outcome, "succeeded");
    assert.equal((await queued).outcome, "succeeded");
    assert.equal(started, 2, "the queued run started after the first ended");
  } finally {
    await scheduler.stop();
  }
});

Deno.test("stop() waits for the running command and then refuses runs", async () => {
  const held = gate();
  let finished = false;
  const scheduler = startScheduler(async () => {
    await held.promise;
    finished = true;
  }, [job("long")]);
  const run = scheduler.runNow("long");
  const stopping = scheduler.stop();
  setTimeout(held.open, 20);
  await stopping;
  assert.ok(finished, "stop() resolved only after the command finished");
  assert.equal((await run).outcome, "succeeded");
  await assert.rejects(scheduler.runNow("long"), TypeError);
});

Deno.test("loadJobs() reads the migrations' job table, and every job runs on PGlite", async () => {
  const db = await openPGlite();
  try {
    const runner = pgliteRunner(db);
    await applyCompatTo(runner);
    await migrate(runner);
    const jobs = await loadJobs((sql) => runner.query(sql));
    const names = jobs.map((j) => j.name);
    for (
      const name of [
        "cache-cleanup",
        "purge-job-history",
        "refresh-products-stats",
        "refresh-sales-dashboard-realtime",
        "refresh-sales-summary-daily",
        "refresh-top-products-hourly",
      ]
    ) {
      assert.ok(names.includes(name), `${name} is defined`);
    }
    await db.query(
      "update private.scheduled_jobs set enabled = false where name = 'cache-cleanup'",
    );
    assert.ok(
      !(await loadJobs((sql) => runner.query(sql))).some((j) => j.name === "cache-cleanup"),
      "disabled jobs are not loaded",
    );

    const failures: string[] = [];
    const scheduler = startScheduler((sql) => runner.exec(sql), jobs, {
      onError: (j, err) => failures.push(`${j.name}: ${(err as Error).message}`),
    });
    try {
      for (const { name } of jobs) await scheduler.runNow(name);
    } finally {
      await scheduler.stop();
    }
    assert.deepEqual(failures, []);
    const refreshed = await runner.query<{ view_name: string; outcome: string }>(
      "select view_name, outcome from private.refresh_log order by view_name",
    );
    assert.deepEqual(refreshed.map((r) => `${r.view_name}:${r.outcome}`), [
      "products_stats:succeeded",
      "sales_dashboard_realtime:succeeded",
      "sales_summary_daily:succeeded",
      "top_products_hourly:succeeded",
    ]);
  } finally {
    await db.close();
  }
});

Deno.test("functionJobTarget() finds the function a job invokes, and only in that form", () => {
  assert.deepEqual(
    functionJobTarget("select private.invoke_function('notifications', '/deliver')"),
    { function: "notifications", path: "/deliver" },
  );
  assert.equal(functionJobTarget("select private.cache_cleanup()"), undefined);
  assert.equal(
    functionJobTarget("select private.invoke_function('notifications', '/deliver'); drop table x"),
    undefined,
  );
});
