/**
 * The local backend in one call: a database (embedded PGlite by default, or the Postgres at
 * `dbUrl`) with the compatibility SQL, every migration and demo data, and the gateway serving every
 * function against it. Used by `deno task dev` and by the end-to-end tests.
 * @module
 */
import { parseEnv } from "node:util";
import type { PGlite } from "@electric-sql/pglite";
import { closeDb, getDb } from "../../supabase/functions/_shared/db/client.ts";
import { type Gateway, startGateway } from "./gateway.ts";
import { AUTH_PREFIX, createLocalAuth } from "./local_auth/auth_app.ts";
import { DEMO_USERS, type DemoUser, seedDemoUsers } from "./local_auth/demo_users.ts";
import { readLocalAuthSettings } from "./local_auth/settings.ts";
import { protectionLines } from "./startup_summary.ts";
import { rateLimitBackendFor } from "../../supabase/functions/_shared/rate_limit/backend_from_settings.ts";
import { rateLimitSettingsFromEnv } from "../../supabase/functions/_shared/rate_limit/settings.ts";
import {
  localAlertmanagerToken,
  localApiKeys,
  localJwtSecret,
  localMetricsToken,
} from "./local_keys.ts";
import { applyCompatTo, migrate } from "./migrate.ts";
import { openPGlite } from "./pglite.ts";
import { PGliteSessionServer } from "./pglite_session_server.ts";
import { functionJobTarget, loadJobs, type Scheduler, startScheduler } from "./scheduler.ts";
import { readNotificationsConfig, syncNotifications } from "./notify_sync.ts";
import { hasShopData, seedDatabase, seedPlan } from "./seed.ts";
import { pgliteRunner, postgresRunner, type SqlRunner } from "./sql_runner.ts";

/** Options of {@linkcode startDevStack}. */
export interface DevStackOptions {
  /** Superuser URL of a real Postgres; PGlite when absent. */
  dbUrl?: string;
  /** Gateway port (0 = any free port). */
  port?: number;
  /** Seed demo data at this scale when the shop is empty (0 = never). */
  scale?: number;
  /** PGlite data folder; in memory when absent. */
  pgliteDataDir?: string;
  /** Access log and progress lines. */
  log?: (line: string) => void;
  /** Write one access-log line per request. */
  accessLog?: boolean;
  /** Run private.scheduled_jobs here where pg_cron does not (default true). */
  scheduler?: boolean;
}

/** A running local backend. */
export interface DevStack {
  mode: "pglite" | "postgres";
  gateway: Gateway;
  /** URL the functions use. */
  functionsDbUrl: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
  /** The scheduler running the cron job definitions, when pg_cron does not run them. */
  scheduler?: Scheduler;
  /** Bearer token of the `metrics` function. */
  metricsToken: string;
  /** Bearer token of the `alerts` function's Alertmanager webhook. */
  alertmanagerToken: string;
  /** The demo accounts of the local Auth at `/auth/v1`, and their passwords. */
  demoUsers: readonly DemoUser[];
  /** The protection in force, in lines a person reads (see startup_summary.ts). */
  protection: string[];
  stop(): Promise<void>;
}

const ENV_FILE = new URL("../../supabase/functions/.env", import.meta.url);

/**
 * Starts the local backend.
 *
 * @example
 * ```ts
 * const stack = await startDevStack({ port: 54321, scale: 2 });
 * console.log(stack.gateway.url, stack.anonKey);
 * await stack.stop();
 * ```
 */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const {
    dbUrl,
    port = 54321,
    scale = 2,
    pgliteDataDir,
    log = () => {},
    accessLog = true,
    scheduler: wantScheduler = true,
  } = options;
  await loadEnvFile();
  const jwtSecret = localJwtSecret();
  const keys = await localApiKeys(jwtSecret);

  let pglite: PGlite | undefined;
  let socket: PGliteSessionServer | undefined;
  let runner: SqlRunner;
  let functionsDbUrl: string;
  if (dbUrl) {
    runner = postgresRunner(dbUrl);
    functionsDbUrl = dbUrl;
  } else {
    pglite = await openPGlite(pgliteDataDir);
    runner = pgliteRunner(pglite);
    // PGlite is one session: the session server lets the functions, psql or any client connect at
    // once and gives each whole transactions in turn. The functions keep a pool of 1 — more
    // connections would only queue for the same session.
    socket = new PGliteSessionServer({ db: pglite, hostname: "127.0.0.1", port: 0 });
    const socketPort = await socket.start();
    functionsDbUrl = `postgresql://postgres:postgres@127.0.0.1:${socketPort}/postgres`;
    Deno.env.set("COMPTOIR_DB_POOL_MAX", "1");
  }

  let cronRunsJobs: boolean;
  try {
    await applyCompatTo(runner);
    const applied = await migrate(runner);
    log(`database ready: ${applied.length} migration(s) applied`);
    if (scale > 0 && !await hasShopData(runner)) {
      const started = performance.now();
      const plan = seedPlan(scale);
      await seedDatabase(runner, plan);
      log(
        `demo data seeded: ${plan.orders} orders, ${plan.products} products in ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    }
    const routing = await syncNotifications(runner, await readNotificationsConfig());
    log(`notifications: ${routing.routes} routes from config/notifications.json`);
    const [cron] = await runner.query<{ enabled: boolean }>(
      "select private.pg_cron_enabled() as enabled",
    );
    cronRunsJobs = cron.enabled;
  } finally {
    if (dbUrl) await runner.close();
  }

  Deno.env.set("COMPTOIR_DB_URL", functionsDbUrl);
  // The metrics function needs a token; locally the same default as `deno task monitoring:up`.
  Deno.env.set("COMPTOIR_METRICS_TOKEN", localMetricsToken());
  // The alerts function's Alertmanager webhook likewise: `monitoring:up` sends the same token.
  Deno.env.set("COMPTOIR_ALERTMANAGER_TOKEN", localAlertmanagerToken());
  Deno.env.set("COMPTOIR_JWT_SECRET", jwtSecret);
  Deno.env.set("SUPABASE_ANON_KEY", keys.anon);
  Deno.env.set("SUPABASE_SERVICE_ROLE_KEY", keys.serviceRole);
  Deno.env.set("SUPABASE_DB_URL", functionsDbUrl);

  // The local gateway is reached directly and hands the functions the connection's peer, so the
  // peer is the client; a hosted deployment must say how many proxies append X-Forwarded-For.
  if (!Deno.env.get("COMPTOIR_TRUSTED_PROXY")) Deno.env.set("COMPTOIR_TRUSTED_PROXY", "0");
  // Local Supabase Auth at /auth/v1 on the functions' own database client, so on PGlite its
  // transactions queue with the functions' instead of interleaving with them.
  const authSettings = await readLocalAuthSettings();
  const auth = createLocalAuth({
    sql: getDb,
    jwtSecret,
    apiKeys: keys,
    settings: authSettings,
    rateLimitBackend: rateLimitBackendFor(rateLimitSettingsFromEnv().backend).backend,
  });
  await seedDemoUsers(getDb());
  const gateway = await startGateway({
    port,
    jwtSecret,
    accessLog,
    routes: [{ prefix: AUTH_PREFIX, fetch: auth }],
  });
  Deno.env.set("SUPABASE_URL", gateway.url);
  // Loaded by the gateway with the api (after the environment above is set), so this is the same
  // module instance and summary the api logged.
  const { apiProtectionSummary } = await import("../../supabase/functions/api/app.ts");
  const protection = protectionLines(apiProtectionSummary(), authSettings);

  // Where pg_cron does not run the jobs (PGlite, a database other than cron.database_name), the
  // same rows of private.scheduled_jobs run here, through the functions' own connection pool so
  // they queue behind requests on PGlite's single connection instead of interleaving with them.
  let scheduler: Scheduler | undefined;
  if (wantScheduler) {
    const sql = getDb();
    const all = await loadJobs((text) => sql.unsafe(text) as Promise<Record<string, unknown>[]>);
    // Jobs that invoke a function need pg_net, which no local database has: they always run here,
    // as a POST through the gateway with the service key. The others run here unless pg_cron does.
    const jobs = all.filter((job) => !cronRunsJobs || functionJobTarget(job.command));
    scheduler = startScheduler(
      async (text) => {
        const target = functionJobTarget(text);
        if (!target) {
          await sql.unsafe(text);
          return;
        }
        const res = await fetch(`${gateway.url}/functions/v1/${target.function}${target.path}`, {
          method: "POST",
          // An empty JSON object: what pg_net's net.http_post sends by default, and a body the
          // functions' JSON routes accept.
          headers: {
            authorization: `Bearer ${keys.serviceRole}`,
            "content-type": "application/json",
          },
          body: "{}",
        });
        await res.body?.cancel();
        if (!res.ok) throw new Error(`${target.function}${target.path} answered ${res.status}`);
      },
      jobs,
      {
        onError: (job, error) =>
          console.error(JSON.stringify({
            level: "error",
            msg: "scheduled job failed",
            job: job.name,
            error: error instanceof Error ? error.message : String(error),
          })),
      },
    );
    log(
      cronRunsJobs
        ? `scheduler: pg_cron runs private.scheduled_jobs; ${jobs.length} function job(s) run here`
        : `scheduler: ${jobs.length} job(s) from private.scheduled_jobs (pg_cron does not run here)`,
    );
  }

  return {
    mode: dbUrl ? "postgres" : "pglite",
    gateway,
    functionsDbUrl,
    anonKey: keys.anon,
    serviceRoleKey: keys.serviceRole,
    jwtSecret,
    scheduler,
    demoUsers: DEMO_USERS,
    metricsToken: localMetricsToken(),
    alertmanagerToken: localAlertmanagerToken(),
    protection,
    stop: async () => {
      await scheduler?.stop();
      await gateway.shutdown();
      await closeDb();
      await socket?.stop();
      await pglite?.close();
    },
  };
}

/** Loads supabase/functions/.env like the CLI; variables already set in the shell win. */
export async function loadEnvFile(): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(ENV_FILE);
  } catch {
    return;
  }
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (Deno.env.get(key) === undefined && value !== undefined) Deno.env.set(key, value);
  }
}

/** A free TCP port on loopback. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
