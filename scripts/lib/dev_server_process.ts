/**
 * Starts `scripts/dev.ts` as a child process — the same command a developer runs — and waits until
 * it serves: the one way end-to-end tests and benchmarks get a running backend.
 * @module
 */
import { freePort } from "./dev_stack.ts";
import { localApiKeys, localJwtSecret, userToken } from "./local_keys.ts";

/** A running dev server. */
export interface DevServer {
  url: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret: string;
  /** An access token for a user (optionally an admin through app_metadata.role). */
  tokenFor(user: { id: string; email?: string; appRole?: string }): Promise<string>;
  /** Process id of the server (its memory is the gateway's and the functions'). */
  pid: number;
  /** Output printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Options of {@linkcode startDevServer}. */
export interface DevServerOptions {
  /** Superuser URL of the database; embedded PGlite when absent. */
  dbUrl?: string;
  /** Demo-data scale seeded when the shop is empty. */
  scale?: number;
  /** Extra environment for the server process. */
  env?: Record<string, string>;
  /** How long to wait for readiness. */
  timeoutMs?: number;
  /** No access log (benchmarks). */
  quiet?: boolean;
  /** Flags for `deno run` before the script, e.g. `--inspect=127.0.0.1:9229` (profiling). */
  denoFlags?: string[];
}

/**
 * Starts the dev server on a free port.
 *
 * @example
 * ```ts
 * const server = await startDevServer({ dbUrl: "postgresql://postgres:postgres@127.0.0.1:54322/postgres" });
 * await server.stop();
 * ```
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const { dbUrl, scale = 0, env = {}, timeoutMs = 60_000, quiet = false, denoFlags = [] } = options;
  const port = freePort();
  const args = [
    "run",
    "-A",
    ...denoFlags,
    "scripts/dev.ts",
    "--port",
    String(port),
    "--scale",
    String(scale),
  ];
  if (dbUrl) args.push("--db-url", dbUrl);
  if (quiet) args.push("--quiet");
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: new URL("../../", import.meta.url).pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const collecting = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => exited = true);
  while (!output.includes("comptoir is running")) {
    if (exited) throw new Error(`dev server exited before serving:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`dev server not ready in ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const jwtSecret = localJwtSecret();
  const keys = await localApiKeys(jwtSecret);
  return {
    url,
    anonKey: keys.anon,
    serviceRoleKey: keys.serviceRole,
    jwtSecret,
    tokenFor: (user) => userToken(jwtSecret, user),
    pid: child.pid,
    output: () => output,
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      await child.status;
      await collecting;
    },
  };
}
