/**
 * Runs the database's scheduled jobs where pg_cron is absent (PGlite, or a Postgres without it):
 * the same rows of `private.scheduled_jobs` that the migrations register with pg_cron, on the same
 * five-field cron schedules in UTC, with pg_cron's overlap rule (at most one run of a job at a
 * time; a run due meanwhile is queued once). Timing comes from croner; this module adds the job
 * table, the overlap rule and run reporting.
 * @module
 */
import { Cron } from "croner";

/** A job as stored in `private.scheduled_jobs`. */
export interface ScheduledJob {
  /** Job name (the pg_cron job name). */
  name: string;
  /** Five-field cron schedule (minute hour day-of-month month day-of-week), UTC. */
  schedule: string;
  /** SQL the job runs. */
  command: string;
}

/** How one run of a job ended. */
export interface JobRun {
  job: string;
  startedAt: Date;
  durationMs: number;
  /** `skipped`: the job was running and a run was already queued behind it. */
  outcome: "succeeded" | "failed" | "skipped";
  error?: unknown;
}

/** Options of {@linkcode startScheduler}. */
export interface SchedulerOptions {
  /** Time zone of the schedules; pg_cron's default is GMT. */
  timezone?: string;
  /** Called after every run, including skipped ones. */
  onRun?: (run: JobRun) => void;
  /** Called when a command fails; the job keeps its schedule. Default: `console.error`. */
  onError?: (job: ScheduledJob, error: unknown) => void;
}

/** A running scheduler. */
export interface Scheduler {
  /** The jobs with their next run time. */
  jobs(): { name: string; schedule: string; nextRun: Date | null }[];
  /** Runs a job now, under the same overlap rule as a scheduled run; resolves with its run. */
  runNow(name: string): Promise<JobRun>;
  /** Stops every timer and waits for the commands still running. */
  stop(): Promise<void>;
}

interface JobState {
  job: ScheduledJob;
  cron: Cron;
  running: Promise<JobRun> | null;
  queued: Promise<JobRun> | null;
}

/**
 * Schedules `jobs`, running each command through `runSql` when it is due.
 *
 * @example
 * ```ts
 * const db = await openPGlite();
 * const scheduler = startScheduler(
 *   (sql) => db.exec(sql).then(() => {}),
 *   await loadJobs((sql) => db.query(sql).then((r) => r.rows)),
 * );
 * // ... later
 * await scheduler.stop();
 * ```
 */
export function startScheduler(
  runSql: (sql: string) => Promise<void>,
  jobs: ScheduledJob[],
  options: SchedulerOptions = {},
): Scheduler {
  const {
    timezone = "UTC",
    onRun = () => {},
    onError = (job, error) => console.error(`scheduled job ${job.name} failed:`, error),
  } = options;
  const states = new Map<string, JobState>();
  let stopped = false;

  const execute = async (state: JobState): Promise<JobRun> => {
    const startedAt = new Date();
    const started = performance.now();
    let run: JobRun;
    try {
      await runSql(state.job.command);
      run = {
        job: state.job.name,
        startedAt,
        durationMs: performance.now() - started,
        outcome: "succeeded",
      };
    } catch (error) {
      run = {
        job: state.job.name,
        startedAt,
        durationMs: performance.now() - started,
        outcome: "failed",
        error,
      };
      onError(state.job, error);
    }
    onRun(run);
    return run;
  };

  // pg_cron runs at most one instance of a job; a run due while one is going is queued and starts
  // when the first ends, and further due runs in the meantime are dropped.
  const skipped = (state: JobState): JobRun => {
    const run: JobRun = {
      job: state.job.name,
      startedAt: new Date(),
      durationMs: 0,
      outcome: "skipped",
    };
    onRun(run);
    return run;
  };

  const trigger = (state: JobState): Promise<JobRun> => {
    if (state.running === null) {
      state.running = execute(state).finally(() => {
        state.running = null;
      });
      return state.running;
    }
    if (state.queued === null) {
      state.queued = state.running.then(() => {
        state.queued = null;
        return stopped ? skipped(state) : trigger(state);
      });
      return state.queued;
    }
    return Promise.resolve(skipped(state));
  };

  for (const job of jobs) {
    if (states.has(job.name)) throw new TypeError(`duplicate scheduled job name ${job.name}`);
    let cron: Cron;
    try {
      cron = new Cron(job.schedule, { timezone, mode: "5-part", paused: true });
    } catch (error) {
      throw new TypeError(
        `scheduled job ${job.name} has an invalid schedule "${job.schedule}": ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    states.set(job.name, { job, cron, running: null, queued: null });
  }
  for (const state of states.values()) {
    state.cron.schedule(() => {
      if (!stopped) void trigger(state);
    });
    state.cron.resume();
  }

  return {
    jobs: () =>
      [...states.values()].map((s) => ({
        name: s.job.name,
        schedule: s.job.schedule,
        nextRun: s.cron.nextRun(),
      })),
    runNow: (name) => {
      const state = states.get(name);
      if (!state) return Promise.reject(new RangeError(`no scheduled job named ${name}`));
      if (stopped) return Promise.reject(new TypeError("the scheduler is stopped"));
      return trigger(state);
    },
    stop: async () => {
      stopped = true;
      for (const state of states.values()) state.cron.stop();
      await Promise.all(
        [...states.values()].flatMap((s) => [s.running, s.queued]).filter((p) => p !== null),
      );
    },
  };
}

/**
 * Reads the enabled jobs of `private.scheduled_jobs` through `query`.
 *
 * @example
 * ```ts
 * const jobs = await loadJobs((sql) => db.query(sql).then((r) => r.rows));
 * ```
 */
export async function loadJobs(
  query: (sql: string) => Promise<Record<string, unknown>[]>,
): Promise<ScheduledJob[]> {
  const rows = await query(
    "select name, schedule, command from private.scheduled_jobs where enabled order by name",
  );
  return rows.map((row) => ({
    name: String(row.name),
    schedule: String(row.schedule),
    command: String(row.command),
  }));
}

/** Where a job that calls a function goes: `select private.invoke_function('fn', '/path')`. */
export interface FunctionTarget {
  function: string;
  path: string;
}

const FUNCTION_JOB =
  /^\s*select\s+private\.invoke_function\('([a-z][a-z0-9_-]{0,62})',\s*'(\/[A-Za-z0-9\/_-]{0,200})'\)\s*;?\s*$/i;

/**
 * The function a job invokes, when its command is a call of `private.invoke_function()` (which
 * needs pg_net and reaches nothing in a local database): the dev stack then POSTs to the function
 * through its gateway instead of running the SQL.
 *
 * @example
 * ```ts
 * functionJobTarget("select private.invoke_function('notifications', '/deliver')");
 * // { function: "notifications", path: "/deliver" }
 * ```
 */
export function functionJobTarget(command: string): FunctionTarget | undefined {
  const match = FUNCTION_JOB.exec(command);
  return match ? { function: match[1], path: match[2] } : undefined;
}
