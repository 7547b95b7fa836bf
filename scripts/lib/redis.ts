/**
 * Starts and stops a throwaway redis-server and the Upstash-REST proxy in front of it, both on
 * loopback, for tests and the local stack. redis-server can be stopped and started again on its
 * own while the proxy keeps running, to rehearse a Redis outage.
 * @module
 */
import { RespConnection, serveUpstashProxy } from "../upstash_proxy.ts";
import { spawn } from "./command.ts";

/** Options of {@linkcode startLocalRedis}. */
export interface LocalRedisOptions {
  /** redis-server port. */
  redisPort: number;
  /** Upstash proxy port. */
  proxyPort: number;
  /** Bearer token of the proxy. */
  token?: string;
  /** redis-server binary. */
  redisServer?: string;
}

/** A running redis-server + proxy. */
export interface LocalRedis {
  /** Proxy URL (`UPSTASH_REDIS_REST_URL`). */
  url: string;
  /** Proxy token (`UPSTASH_REDIS_REST_TOKEN`). */
  token: string;
  /** redis-server port. */
  redisPort: number;
  /** Stops redis-server only (the proxy answers errors meanwhile). */
  stopRedis(): Promise<void>;
  /** Starts redis-server again on the same port, empty. */
  startRedis(): Promise<void>;
  /** Freezes redis-server (SIGSTOP): connections stay open but nothing answers, like a hung host. */
  pauseRedis(): void;
  /** Thaws a paused redis-server (SIGCONT). */
  resumeRedis(): void;
  /** Stops both. */
  stop(): Promise<void>;
}

/**
 * Starts redis-server (`--bind 127.0.0.1 --port P --save '' --daemonize no`) and the proxy.
 *
 * @example
 * ```ts
 * const local = await startLocalRedis({ redisPort: 56379, proxyPort: 58079 });
 * const redis = new Redis({ url: local.url, token: local.token });
 * await local.stop();
 * ```
 */
export async function startLocalRedis(
  { redisPort, proxyPort, token = "local-test-token", redisServer = "redis-server" }:
    LocalRedisOptions,
): Promise<LocalRedis> {
  let child: Deno.ChildProcess | undefined = await startRedisServer(redisServer, redisPort);
  const proxy = serveUpstashProxy({ port: proxyPort, redisPort, token });

  const stopRedis = async () => {
    if (!child) return;
    const running = child;
    child = undefined;
    running.kill("SIGCONT");
    running.kill("SIGTERM");
    await running.status;
  };
  return {
    url: proxy.url,
    token,
    redisPort,
    stopRedis,
    async startRedis() {
      if (!child) child = await startRedisServer(redisServer, redisPort);
    },
    pauseRedis() {
      child?.kill("SIGSTOP");
    },
    resumeRedis() {
      child?.kill("SIGCONT");
    },
    async stop() {
      await proxy.shutdown();
      await stopRedis();
    },
  };
}

async function startRedisServer(binary: string, port: number): Promise<Deno.ChildProcess> {
  if (await ping(port)) throw new Error(`Port ${port} already answers Redis; refusing to share it`);
  const child = spawn(binary, {
    args: ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"]
      .concat(["--daemonize", "no"]),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  });
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`redis-server exited while starting on port ${port}`);
    if (await ping(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill("SIGKILL");
  await child.status;
  throw new Error(`redis-server did not answer on port ${port} within 5 s`);
}

async function ping(port: number): Promise<boolean> {
  let conn: RespConnection | undefined;
  try {
    conn = await RespConnection.connect("127.0.0.1", port);
    const [reply] = await conn.send([["PING"]]);
    return reply.type === "status" && reply.value === "PONG";
  } catch {
    return false;
  } finally {
    conn?.close();
  }
}
