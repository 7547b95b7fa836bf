/**
 * A project-owned PostgreSQL 15 cluster on loopback, with pg_cron and pg_stat_statements preloaded.
 * Hand-written because there is no Docker here: it drives initdb / pg_ctl directly, as the `postgres`
 * OS user when invoked as root. Start and stop are idempotent.
 * @module
 */
import { exists, isRoot, requireExecutables, run, StackError } from "./command.ts";
import { missingPackages, POSTGRES_PACKAGES } from "./debian_packages.ts";
import { EXECUTABLES, PG_BIN } from "./executables.ts";

export { PG_BIN };

/** Superuser password of local clusters (the Supabase CLI's local default). */
export const LOCAL_PASSWORD = "postgres";

/** Options of {@linkcode PgCluster}. */
export interface PgClusterOptions {
  /** Data folder; created on first start. */
  dataDir: string;
  /** TCP port on 127.0.0.1. */
  port: number;
}

/** Settings written to postgresql.conf: preload libraries and a 2-core / 24 GB machine. */
function clusterSettings(port: number): string {
  return `
# written by comptoir scripts/lib/pg_cluster.ts
listen_addresses = '127.0.0.1'
port = ${port}
unix_socket_directories = ''
shared_preload_libraries = 'pg_cron,pg_stat_statements'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
pg_stat_statements.track = top
pg_stat_statements.max = 5000
track_io_timing = on
shared_buffers = 1GB
effective_cache_size = 8GB
work_mem = 32MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
checkpoint_timeout = 15min
max_connections = 200
log_min_duration_statement = -1
`;
}

/**
 * A local cluster: `start()` runs initdb on first use, `stop()` shuts it down.
 *
 * @example
 * ```ts
 * const cluster = new PgCluster({ dataDir: ".local/postgres", port: 54322 });
 * await cluster.start();
 * console.log(cluster.url());
 * ```
 */
export class PgCluster {
  readonly dataDir: string;
  readonly port: number;

  constructor({ dataDir, port }: PgClusterOptions) {
    this.dataDir = dataDir;
    this.port = port;
  }

  /** postgres:// URL of a database on this cluster, as the superuser. */
  url(database = "postgres"): string {
    return `postgresql://postgres:${LOCAL_PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  /** Whether the server of this data folder is running. */
  async isRunning(): Promise<boolean> {
    if (!await exists(`${this.dataDir}/PG_VERSION`)) return false;
    const { code } = await run(`${PG_BIN}/pg_ctl`, ["status", "-D", this.dataDir], {
      asPostgres: true,
      check: false,
    });
    return code === 0;
  }

  /** Initialises the data folder if needed and starts the server; a no-op when it runs. */
  async start(): Promise<"started" | "running"> {
    await checkInstalled();
    if (await this.isRunning()) return "running";
    if (!await exists(`${this.dataDir}/PG_VERSION`)) await this.#init();
    await run(
      `${PG_BIN}/pg_ctl`,
      ["start", "-w", "-t", "60", "-D", this.dataDir, "-l", `${this.dataDir}/postgres.log`],
      { asPostgres: true, check: false },
    ).then(async (result) => {
      if (result.code !== 0) {
        const log = await Deno.readTextFile(`${this.dataDir}/postgres.log`).catch(() => "");
        throw new StackError(
          `postgres did not start on 127.0.0.1:${this.port}: ` +
            (log.trim().split("\n").slice(-3).join(" | ") || result.stderr.trim()),
        );
      }
    });
    return "started";
  }

  /** Stops the server (fast shutdown); a no-op when it is not running. */
  async stop(): Promise<"stopped" | "not running"> {
    if (!await this.isRunning()) return "not running";
    await run(`${PG_BIN}/pg_ctl`, ["stop", "-w", "-m", "fast", "-D", this.dataDir], {
      asPostgres: true,
    });
    return "stopped";
  }

  /** Stops the server and deletes its data folder. */
  async destroy(): Promise<void> {
    await this.stop();
    await Deno.remove(this.dataDir, { recursive: true }).catch(() => undefined);
  }

  async #init(): Promise<void> {
    const parent = this.dataDir.replace(/\/[^/]+\/?$/, "");
    await Deno.mkdir(parent, { recursive: true });
    await Deno.mkdir(this.dataDir, { mode: 0o700 });
    if (isRoot()) {
      await run("chown", ["postgres:postgres", this.dataDir]);
      const access = await run("runuser", ["-u", "postgres", "--", "test", "-w", this.dataDir], {
        check: false,
      });
      if (access.code !== 0) {
        throw new StackError(
          `the postgres OS user cannot reach ${this.dataDir}; set COMPTOIR_PG_DATA to a folder it can ` +
            `write (e.g. /var/tmp/comptoir/postgres)`,
        );
      }
    }
    const pwfile = await Deno.makeTempFile({ prefix: "comptoir-pw-" });
    await Deno.writeTextFile(pwfile, LOCAL_PASSWORD + "\n");
    if (isRoot()) await run("chown", ["postgres", pwfile]);
    try {
      await run(`${PG_BIN}/initdb`, [
        "-D",
        this.dataDir,
        "-U",
        "postgres",
        "--pwfile",
        pwfile,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--no-locale",
        "--no-sync",
      ], { asPostgres: true });
    } finally {
      await Deno.remove(pwfile);
    }
    const conf = `${this.dataDir}/postgresql.conf`;
    await Deno.writeTextFile(conf, clusterSettings(this.port), { append: true });
  }
}

/** Throws one StackError naming the Debian packages to install when something is missing. */
async function checkInstalled(): Promise<void> {
  requireExecutables(EXECUTABLES.filter((e) => e.part === "postgres"));
  const missing = await exists(`${PG_BIN}/initdb`)
    ? await missingPackages(POSTGRES_PACKAGES)
    : POSTGRES_PACKAGES;
  if (missing.length > 0) {
    throw new StackError(
      `PostgreSQL 15 with pg_cron, pgTAP and plpgsql_check is needed; install: ` +
        `sudo apt-get install -y ${missing.join(" ")}`,
    );
  }
}

/**
 * A data folder for a cluster named `name`: `.local/<name>` in the repository (git-ignored), unless
 * the `postgres` OS user cannot reach the repository (a checkout under /root, say) — then
 * `/var/tmp/comptoir-<hash of the repository path>/<name>`.
 */
export function clusterDataDir(name: string): string {
  const repo = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
  if (!isRoot() || postgresCanEnter(repo)) return `${repo}/.local/${name}`;
  let hash = 0;
  for (const ch of repo) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `/var/tmp/comptoir-${hash.toString(16)}/${name}`;
}

/** Whether the `postgres` OS user can enter `dir` (every folder on the path needs +x). */
function postgresCanEnter(dir: string): boolean {
  try {
    return new Deno.Command("runuser", { args: ["-u", "postgres", "--", "test", "-x", dir] })
      .outputSync().code === 0;
  } catch {
    return false;
  }
}

/** The developer cluster's data folder: COMPTOIR_PG_DATA, or {@linkcode clusterDataDir}. */
export function defaultDataDir(): string {
  return Deno.env.get("COMPTOIR_PG_DATA") ?? clusterDataDir("postgres");
}

/** The developer cluster on 127.0.0.1:54322 (the Supabase CLI's database port). */
export function devCluster(): PgCluster {
  return new PgCluster({
    dataDir: defaultDataDir(),
    port: Number(Deno.env.get("COMPTOIR_PG_PORT") ?? 54322),
  });
}
