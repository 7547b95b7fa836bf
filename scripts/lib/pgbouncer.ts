/**
 * A throwaway PgBouncer (Debian package `pgbouncer`) in transaction mode in front of a local
 * Postgres, on loopback: the local stand-in for Supavisor, the transaction pooler behind Supabase's
 * port 6543. A server connection belongs to a client only for the length of a transaction, so a
 * session setting, a prepared statement or a temporary table does not follow the client; the
 * small server pool makes clients of several processes share the same server connections.
 *
 * PgBouncer 1.18 (Debian 12) has no support for protocol-level prepared statements (that came
 * with `max_prepared_statements` in 1.21), which is why the functions keep `prepare: false`.
 * `statement_timeout`, which postgres.js sends as a startup parameter, is not a parameter PgBouncer
 * forwards: it is listed in `ignore_startup_parameters`, and through the pooler the statement
 * timeout is the database role's (as on Supavisor).
 * Refuses to run as root, so as root it runs as the `postgres` OS user.
 * @module
 */
import { isRoot, run, spawn, StackError } from "./command.ts";

/** Options of {@linkcode startPgBouncer}. */
export interface PgBouncerOptions {
  /** Port of the Postgres to pool. */
  upstreamPort: number;
  /** Port to listen on. */
  port: number;
  /** Server connections per database and user (`default_pool_size`). Default 4. */
  poolSize?: number;
  /** Login of clients and of the server connections. */
  user?: string;
  password?: string;
}

/** A running PgBouncer. */
export interface PgBouncer {
  port: number;
  /** postgres:// URL of `database` through the pooler. */
  url(database?: string): string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer and waits until it accepts connections.
 *
 * @example
 * ```ts
 * const pooler = await startPgBouncer({ upstreamPort: 54322, port: 56432, poolSize: 2 });
 * const sql = postgres(pooler.url(), { prepare: false });
 * await pooler.stop();
 * ```
 */
export async function startPgBouncer(
  { upstreamPort, port, poolSize = 4, user = "postgres", password = "postgres" }: PgBouncerOptions,
): Promise<PgBouncer> {
  const dir = await Deno.makeTempDir({ prefix: "comptoir-pgbouncer-" });
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  await Deno.writeTextFile(`${dir}/userlist.txt`, `${quote(user)} ${quote(password)}\n`);
  await Deno.writeTextFile(
    `${dir}/pgbouncer.ini`,
    `; written by comptoir scripts/lib/pgbouncer.ts
[databases]
* = host=127.0.0.1 port=${upstreamPort}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = plain
auth_file = ${dir}/userlist.txt
pool_mode = transaction
default_pool_size = ${poolSize}
min_pool_size = 0
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = extra_float_digits,statement_timeout
logfile = ${dir}/pgbouncer.log
pidfile = ${dir}/pgbouncer.pid
`,
  );
  if (isRoot()) await run("chown", ["-R", "postgres", dir]);
  const [program, args] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", "pgbouncer", `${dir}/pgbouncer.ini`]]
    : ["pgbouncer", [`${dir}/pgbouncer.ini`]];
  const child = spawn(program as string, {
    args: args as string[],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  });
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  const stderr = new Response(child.stderr).text();
  const deadline = Date.now() + 5000;
  while (!await accepts(port)) {
    if (exited || Date.now() > deadline) {
      if (!exited) child.kill("SIGKILL");
      await status;
      const log = await Deno.readTextFile(`${dir}/pgbouncer.log`).catch(() => "");
      throw new StackError(
        `pgbouncer did not start on port ${port}: ${(await stderr).trim()} ${log.trim()}`
          .slice(0, 2000),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    port,
    url: (database = "postgres") =>
      `postgresql://${encodeURIComponent(user)}:${
        encodeURIComponent(password)
      }@127.0.0.1:${port}/${database}`,
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      await status;
      await stderr;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function accepts(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}
