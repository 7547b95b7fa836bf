/**
 * Local Upstash: an HTTP server that speaks the Upstash Redis REST API (`POST /` with a JSON command
 * array, `/pipeline`, `/multi-exec`, `Authorization: Bearer <token>`, `Upstash-Encoding: base64`,
 * errors as `{"error": "..."}`) in front of a real redis-server, so @upstash/redis and
 * @upstash/ratelimit run unmodified against it in development and tests. Upstash's own local
 * option is a Docker image, and Docker is not available here.
 *
 * Two Upstash extensions are bridged: @upstash/ratelimit's Lua scripts start with
 * `#!lua flags=allow-key-locking`, a flag vanilla Redis 7 rejects, so the flag is removed before
 * the script reaches Redis, and EVALSHA calls naming the original script's hash are mapped to the
 * hash of the rewritten one.
 *
 * It carries its own small RESP client (over `Deno.connect`) instead of an npm Redis client: the
 * proxy must relay replies with their exact RESP types (a status reply vs a bulk string, an error
 * inside an EXEC array, raw bytes for base64) which client libraries convert away, and it keeps
 * the import map free of a dependency used only by a development tool.
 *
 * Usage: `deno run -A scripts/upstash_proxy.ts --port 8079 --redis-port 6379 --token dev-token`
 * @module
 */

/** A RESP2 reply, with its type kept. */
export type RespReply =
  | { type: "status"; value: string }
  | { type: "error"; value: string }
  | { type: "integer"; value: number }
  | { type: "bulk"; value: Uint8Array | null }
  | { type: "array"; value: RespReply[] | null };

const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A pipelining RESP2 connection: commands are written in order and replies matched first in,
 * first out, so concurrent callers share one socket without waiting for each other.
 *
 * @example
 * ```ts
 * const redis = await RespConnection.connect("127.0.0.1", 6379);
 * const [pong] = await redis.send([["PING"]]);
 * redis.close();
 * ```
 */
export class RespConnection {
  readonly #conn: Deno.TcpConn;
  readonly #pending: { resolve: (r: RespReply) => void; reject: (e: unknown) => void }[] = [];
  #buffer: Uint8Array = new Uint8Array(0);
  #closed = false;
  #failure: unknown;
  #writing: Promise<void> = Promise.resolve();

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
    this.#readLoop();
  }

  /** Opens a connection to redis-server. */
  static async connect(hostname: string, port: number): Promise<RespConnection> {
    return new RespConnection(await Deno.connect({ hostname, port }));
  }

  /** Whether the socket is gone (a new connection is needed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends commands in one write and resolves with their replies, in order. */
  send(commands: readonly (readonly (string | Uint8Array)[])[]): Promise<RespReply[]> {
    if (this.#closed) return Promise.reject(this.#failure ?? new Error("Connection closed"));
    const replies = commands.map(() =>
      new Promise<RespReply>((resolve, reject) => this.#pending.push({ resolve, reject }))
    );
    const payload = concat(commands.map(encodeCommand));
    this.#writing = this.#writing.then(() => writeAll(this.#conn, payload)).catch((error) =>
      this.#fail(error)
    );
    return Promise.all(replies);
  }

  /** Closes the socket; pending replies are rejected. */
  close(): void {
    this.#fail(new Error("Connection closed"));
  }

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await this.#conn.read(chunk);
        if (n === null) throw new Error("Redis closed the connection");
        this.#buffer = concat([this.#buffer, chunk.subarray(0, n)]);
        for (;;) {
          const parsed = parseReply(this.#buffer, 0);
          if (!parsed) break;
          this.#buffer = this.#buffer.subarray(parsed.end);
          this.#pending.shift()?.resolve(parsed.reply);
        }
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failure = error;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer.
    }
    for (const waiter of this.#pending.splice(0)) waiter.reject(error);
  }
}

function encodeCommand(args: readonly (string | Uint8Array)[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? encoder.encode(arg) : arg;
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return concat(parts);
}

/** Parses one reply starting at `start`; `undefined` when the buffer does not hold all of it. */
function parseReply(buf: Uint8Array, start: number): { reply: RespReply; end: number } | undefined {
  const lineEnd = indexOfCrlf(buf, start);
  if (lineEnd < 0) return undefined;
  const prefix = buf[start];
  const line = decoder.decode(buf.subarray(start + 1, lineEnd));
  const next = lineEnd + 2;
  switch (prefix) {
    case 43: // +
      return { reply: { type: "status", value: line }, end: next };
    case 45: // -
      return { reply: { type: "error", value: line }, end: next };
    case 58: // :
      return { reply: { type: "integer", value: Number(line) }, end: next };
    case 36: { // $
      const length = Number(line);
      if (length < 0) return { reply: { type: "bulk", value: null }, end: next };
      if (buf.length < next + length + 2) return undefined;
      return {
        reply: { type: "bulk", value: buf.slice(next, next + length) },
        end: next + length + 2,
      };
    }
    case 42: { // *
      const count = Number(line);
      if (count < 0) return { reply: { type: "array", value: null }, end: next };
      const items: RespReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (!item) return undefined;
        items.push(item.reply);
        at = item.end;
      }
      return { reply: { type: "array", value: items }, end: at };
    }
    default:
      throw new Error(`Unexpected RESP type byte ${prefix}`);
  }
}

function indexOfCrlf(buf: Uint8Array, from: number): number {
  for (let i = from; i < buf.length - 1; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10) return i;
  }
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function writeAll(conn: Deno.TcpConn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

// --- Upstash REST translation -------------------------------------------------------------------

/** JSON value of a reply the way Upstash answers it. */
function toJson(reply: RespReply, base64: boolean): unknown {
  switch (reply.type) {
    case "status":
      // @upstash/redis leaves "OK" alone and base64-decodes every other string.
      if (!base64 || reply.value === "OK") return reply.value;
      return encodeBase64(encoder.encode(reply.value));
    case "error":
      return reply.value;
    case "integer":
      return reply.value;
    case "bulk":
      if (reply.value === null) return null;
      return base64 ? encodeBase64(reply.value) : decoder.decode(reply.value);
    case "array":
      return reply.value === null ? null : reply.value.map((r) => toJson(r, base64));
  }
}

function toEntry(reply: RespReply, base64: boolean): { result?: unknown; error?: string } {
  return reply.type === "error" ? { error: reply.value } : { result: toJson(reply, base64) };
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const SHEBANG = /^#!lua([^\n]*)/;

/**
 * Removes the Upstash-only `allow-key-locking` flag from a script's shebang; a shebang left with
 * no flags becomes an empty line so the script runs as a classic EVAL script with the same line
 * numbers in its error messages.
 */
export function stripUpstashFlags(script: string): string {
  const match = SHEBANG.exec(script);
  if (!match) return script;
  const flagsMatch = /flags=(\S*)/.exec(match[1]);
  if (!flagsMatch) return script;
  const flags = flagsMatch[1].split(",").filter((f) => f !== "" && f !== "allow-key-locking");
  const shebang = flags.length > 0 ? `#!lua flags=${flags.join(",")}` : "";
  return shebang + script.slice(match[0].length);
}

/** Options of {@linkcode serveUpstashProxy}. */
export interface UpstashProxyOptions {
  /** Port to listen on (loopback). */
  port: number;
  /** Listen address. */
  hostname?: string;
  /** redis-server port. */
  redisPort: number;
  /** redis-server host. */
  redisHost?: string;
  /** Bearer token clients must send. */
  token: string;
}

/** A running proxy. */
export interface UpstashProxy {
  /** Base URL for `new Redis({ url, token })`. */
  url: string;
  /** Stops listening and closes the Redis connection. */
  shutdown(): Promise<void>;
}

type Arg = string | number | boolean | null;

/**
 * Starts the proxy.
 *
 * @example
 * ```ts
 * const proxy = serveUpstashProxy({ port: 58079, redisPort: 56379, token: "t" });
 * const redis = new Redis({ url: proxy.url, token: "t" });
 * ```
 */
export function serveUpstashProxy(
  { port, hostname = "127.0.0.1", redisPort, redisHost = "127.0.0.1", token }: UpstashProxyOptions,
): UpstashProxy {
  let connection: Promise<RespConnection> | undefined;
  /** Original script hash -> hash of the script Redis actually holds. */
  const scriptHashes = new Map<string, string>();

  async function redis(): Promise<RespConnection> {
    const current = connection ? await connection.catch(() => undefined) : undefined;
    if (current && !current.closed) return current;
    connection = RespConnection.connect(redisHost, redisPort);
    return await connection;
  }

  /** Rewrites script commands for vanilla Redis; returns the command to send. */
  async function translate(command: string[]): Promise<string[]> {
    const name = command[0]?.toUpperCase();
    if ((name === "EVAL" || name === "EVAL_RO") && command.length > 1) {
      const rewritten = stripUpstashFlags(command[1]);
      if (rewritten !== command[1]) {
        scriptHashes.set(await sha1Hex(command[1]), await sha1Hex(rewritten));
      }
      return [command[0], rewritten, ...command.slice(2)];
    }
    if ((name === "EVALSHA" || name === "EVALSHA_RO") && command.length > 1) {
      const mapped = scriptHashes.get(command[1].toLowerCase());
      return mapped ? [command[0], mapped, ...command.slice(2)] : command;
    }
    if (name === "SCRIPT" && command[1]?.toUpperCase() === "LOAD" && command.length > 2) {
      const rewritten = stripUpstashFlags(command[2]);
      if (rewritten !== command[2]) {
        scriptHashes.set(await sha1Hex(command[2]), await sha1Hex(rewritten));
      }
      return [command[0], command[1], rewritten];
    }
    return command;
  }

  /** SCRIPT LOAD answers with the hash the client computed from the original script. */
  async function untranslate(command: string[], reply: RespReply): Promise<RespReply> {
    if (
      command[0]?.toUpperCase() === "SCRIPT" && command[1]?.toUpperCase() === "LOAD" &&
      reply.type === "bulk" && command.length > 2
    ) {
      return { type: "bulk", value: encoder.encode(await sha1Hex(command[2])) };
    }
    return reply;
  }

  async function run(commands: string[][]): Promise<RespReply[]> {
    const translated = await Promise.all(commands.map(translate));
    const replies = await (await redis()).send(translated);
    return await Promise.all(replies.map((r, i) => untranslate(commands[i], r)));
  }

  async function handle(req: Request): Promise<Response> {
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({ error: "Unauthorized" }, { status: 401 });
    }
    const base64 = req.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    const path = new URL(req.url).pathname.replace(/\/+$/, "");
    // Path-style commands (`/set/key/value`) carry their arguments in the URL.
    const pathStyle = path !== "" && !isBatchPath(path);
    let body: unknown;
    if (!pathStyle) {
      try {
        body = await req.json();
      } catch {
        return Response.json({ error: "ERR failed to parse command" }, { status: 400 });
      }
    }
    try {
      if (path === "/pipeline" || path === "/multi-exec") {
        if (!Array.isArray(body) || body.length === 0 || !body.every(Array.isArray)) {
          return Response.json({ error: "ERR expected an array of commands" }, { status: 400 });
        }
        const commands = (body as Arg[][]).map(toArgs);
        if (path === "/pipeline") {
          const replies = await run(commands);
          return Response.json(replies.map((r) => toEntry(r, base64)));
        }
        const replies = await run([["MULTI"], ...commands, ["EXEC"]]);
        const exec = replies[replies.length - 1];
        if (exec.type === "error") return Response.json({ error: exec.value }, { status: 400 });
        if (exec.type !== "array" || exec.value === null) {
          return Response.json({ error: "EXECABORT Transaction discarded" }, { status: 400 });
        }
        return Response.json(exec.value.map((r) => toEntry(r, base64)));
      }
      const command = path === ""
        ? body
        : path.slice(1).split("/").map((segment) => decodeURIComponent(segment));
      if (!Array.isArray(command) || command.length === 0) {
        return Response.json({ error: "ERR expected a command array" }, { status: 400 });
      }
      const [reply] = await run([toArgs(command as Arg[])]);
      if (reply.type === "error") return Response.json({ error: reply.value }, { status: 400 });
      return Response.json({ result: toJson(reply, base64) });
    } catch (error) {
      connection = undefined;
      const message = error instanceof Error ? error.message : String(error);
      return Response.json({ error: `ERR redis unavailable: ${message}` }, { status: 503 });
    }
  }

  const server = Deno.serve({ port, hostname, onListen: () => {} }, handle);
  return {
    url: `http://${hostname}:${port}`,
    async shutdown() {
      await server.shutdown();
      const current = connection ? await connection.catch(() => undefined) : undefined;
      current?.close();
    },
  };
}

function isBatchPath(path: string): boolean {
  return path === "/pipeline" || path === "/multi-exec";
}

function toArgs(command: Arg[]): string[] {
  return command.map((a) => typeof a === "string" ? a : JSON.stringify(a));
}

if (import.meta.main) {
  const flag = (name: string, fallback: string) => {
    const i = Deno.args.indexOf(`--${name}`);
    return i >= 0 && Deno.args[i + 1] ? Deno.args[i + 1] : fallback;
  };
  const proxy = serveUpstashProxy({
    port: Number(flag("port", "8079")),
    redisPort: Number(flag("redis-port", "6379")),
    token: flag("token", Deno.env.get("UPSTASH_REDIS_REST_TOKEN") ?? "local-dev-token"),
  });
  console.log(JSON.stringify({ level: "info", msg: "upstash proxy listening", url: proxy.url }));
  Deno.addSignalListener("SIGINT", () => proxy.shutdown().then(() => Deno.exit(0)));
  Deno.addSignalListener("SIGTERM", () => proxy.shutdown().then(() => Deno.exit(0)));
}
