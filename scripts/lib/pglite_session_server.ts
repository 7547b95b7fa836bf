/**
 * The embedded PGlite of `deno task dev` on the Postgres wire protocol for any number of clients
 * at once — the functions' pool, psql, a GUI — although PGlite is a single session. Clients take
 * turns by whole units of work: a client that starts sending owns the session until the server
 * answers ReadyForQuery with status idle (`I`), so a transaction (`T`/`E` until COMMIT or
 * ROLLBACK) and an extended-protocol batch (Parse/Bind/Execute until Sync) are never interleaved
 * with another client's messages. Turns are granted first come, first served.
 *
 * What one client leaves in the shared session is kept from the others: statement and portal
 * names are prefixed per client (and deallocated when it leaves); settings a client changed with
 * SET / RESET / set_config(…, false) and its start-up parameters are saved when another client
 * takes over, reset, and restored on its next turn; a client that disconnects inside a
 * transaction has it rolled back. A client idle inside a transaction while others wait longer
 * than `idleInTransactionTimeoutMs` is disconnected (SQLSTATE 25P03), as Postgres's
 * idle_in_transaction_session_timeout would, so one forgotten `BEGIN` cannot stall the functions.
 * Not carried across turns: temporary tables, LISTEN, advisory locks (one session holds them).
 *
 * Hand-written because @electric-sql/pglite-socket 0.2.17 multiplexes message by message and pins a
 * client only while a transaction is open, so extended-protocol batches of two clients interleave
 * on the unnamed statement (electric-sql/pglite#1046, fix proposed in #977, both open), and
 * session settings of one client leak into the others.
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";

/** Options of {@linkcode PGliteSessionServer}. */
export interface PGliteSessionServerOptions {
  db: PGlite;
  hostname?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Disconnect a client idle in a transaction this long while others wait (ms). */
  idleInTransactionTimeoutMs?: number;
}

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Start-up parameters that are not settings. */
const NOT_SETTINGS = new Set(["user", "database", "options", "replication"]);
/** A statement that changes session state beyond its transaction. */
const SESSION_CHANGE = /(^|;)\s*(set(?!\s+local\b)|reset|discard)\s/im;
const SESSION_SET_CONFIG = /set_config\s*\([^)]*,\s*false\s*\)/i;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client's saved session state: settings (name → value). */
type Settings = Map<string, string>;

class Client {
  readonly prefix: string;
  readonly statements = new Set<string>();
  /** Settings to restore on the client's next turn (start-up parameters at first). */
  saved: Settings = new Map();
  closed = false;
  constructor(readonly id: number, readonly conn: Deno.Conn) {
    this.prefix = `c${id}_`;
  }
}

/** First-come, first-served ownership of the one session. */
class SessionTurns {
  #owner: Client | null = null;
  #waiting: { client: Client; grant: () => void }[] = [];
  get owner(): Client | null {
    return this.#owner;
  }
  get waiting(): number {
    return this.#waiting.length;
  }
  acquire(client: Client): Promise<void> {
    if (this.#owner === client) return Promise.resolve();
    if (this.#owner === null) {
      this.#owner = client;
      return Promise.resolve();
    }
    return new Promise((grant) => this.#waiting.push({ client, grant }));
  }
  release(client: Client): void {
    if (this.#owner !== client) return;
    const next = this.#waiting.shift();
    this.#owner = next?.client ?? null;
    next?.grant();
  }
  /** Drops a client from the queue; a pending acquire resolves without the turn. */
  forget(client: Client): void {
    for (const w of this.#waiting) if (w.client === client) w.grant();
    this.#waiting = this.#waiting.filter((w) => w.client !== client);
  }
}

/**
 * The multi-client front of the embedded database.
 *
 * @example
 * ```ts
 * const server = new PGliteSessionServer({ db: await openPGlite(), port: 0 });
 * const port = await server.start();
 * // postgresql://postgres:postgres@127.0.0.1:${port}/postgres
 * await server.stop();
 * ```
 */
export class PGliteSessionServer {
  readonly #db: PGlite;
  readonly #hostname: string;
  readonly #port: number;
  readonly #idleTimeoutMs: number;
  readonly #turns = new SessionTurns();
  readonly #clients = new Set<Client>();
  #listener: Deno.Listener | undefined;
  #accepting: Promise<void> | undefined;
  #startupReply: Uint8Array = new Uint8Array();
  #nextId = 1;
  #stopping = false;
  /** The client whose settings the session holds now. */
  #applied: Client | null = null;
  /** A statement of the current client changed session state since the last reset. */
  #sessionDirty = false;
  /** The settings the session holds beyond the defaults. */
  #appliedSettings: Settings = new Map();

  constructor(
    { db, hostname = "127.0.0.1", port = 0, idleInTransactionTimeoutMs = 30_000 }:
      PGliteSessionServerOptions,
  ) {
    this.#db = db;
    this.#hostname = hostname;
    this.#port = port;
    this.#idleTimeoutMs = idleInTransactionTimeoutMs;
  }

  /** Starts listening; returns the port. */
  async start(): Promise<number> {
    // PGlite's own answer to a start-up message (AuthenticationOk, ParameterStatus…,
    // BackendKeyData, ReadyForQuery), replayed to every client that connects.
    // Copied: the raw reply is a view of memory PGlite reuses for the next one.
    this.#startupReply =
      (await this.#db.runExclusive(() =>
        this.#db.execProtocolRaw(startupMessage({ user: "postgres", database: "postgres" }))
      )).slice();
    this.#listener = Deno.listen({ hostname: this.#hostname, port: this.#port });
    this.#accepting = this.#accept(this.#listener);
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Stops listening and disconnects every client. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#listener?.close();
    for (const client of this.#clients) {
      closeQuietly(client);
      this.#turns.forget(client);
    }
    await this.#accepting;
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    const serving = new Set<Promise<void>>();
    try {
      for await (const conn of listener) {
        const done: Promise<void> = this.#serve(new Client(this.#nextId++, conn))
          .finally(() => serving.delete(done));
        serving.add(done);
      }
    } catch {
      // The listener was closed.
    }
    await Promise.allSettled([...serving]);
  }

  async #serve(client: Client): Promise<void> {
    this.#clients.add(client);
    const reader = new MessageReader(client.conn);
    try {
      if (!await this.#handshake(client, reader)) return;
      while (true) {
        const message = await this.#nextMessage(client, reader);
        if (!message || message[0] === 0x58 /* X: Terminate */) break;
        await this.#turns.acquire(client);
        if (client.closed || this.#turns.owner !== client) break;
        await this.#prepareTurn(client);
        const { reply, status } = await this.#execute(client, message);
        await writeAll(client.conn, reply);
        if (status === "I") this.#turns.release(client);
      }
    } catch {
      // The client went away or broke the protocol: it is cleaned up below.
    } finally {
      await this.#leave(client);
    }
  }

  /** Start-up: refuse SSL/GSS, drop cancel requests, answer with PGlite's start-up reply. */
  async #handshake(client: Client, reader: MessageReader): Promise<boolean> {
    while (true) {
      const packet = await reader.startupPacket();
      if (!packet) return false;
      const code = new DataView(packet.buffer, packet.byteOffset).getInt32(4);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        await writeAll(client.conn, encoder.encode("N"));
        continue;
      }
      if (code === CANCEL_REQUEST) return false; // PGlite cannot cancel a running statement.
      if (code !== PROTOCOL_3) return false;
      for (const [key, value] of startupParameters(packet)) {
        if (!NOT_SETTINGS.has(key)) client.saved.set(key, value);
      }
      await writeAll(client.conn, this.#startupReply);
      return true;
    }
  }

  /** The client's next message; while it owns the session in a transaction, with a deadline. */
  async #nextMessage(client: Client, reader: MessageReader): Promise<Uint8Array | null> {
    if (this.#turns.owner !== client) return await reader.message();
    const next = reader.message();
    while (true) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), this.#idleTimeoutMs);
      });
      const result = await Promise.race([next, timeout]);
      clearTimeout(timer);
      if (result !== "timeout") return result;
      if (this.#turns.waiting > 0) {
        await writeAll(
          client.conn,
          errorResponse(
            "FATAL",
            "25P03",
            "terminating connection due to idle-in-transaction timeout",
          ),
        ).catch(() => {});
        return null;
      }
    }
  }

  /** Gives the session the settings of `client` when another client used it last. */
  async #prepareTurn(client: Client): Promise<void> {
    if (this.#applied === client) return;
    const previous = this.#applied;
    const changed = this.#sessionDirty;
    if (changed && previous && !previous.closed) previous.saved = await this.#captureSettings();
    const wanted = client.saved;
    if (changed || !sameSettings(this.#appliedSettings, wanted)) {
      // db.exec and db.query take PGlite's own lock (runExclusive around them would deadlock).
      {
        await this.#db.exec("set session authorization default; reset all");
        // The role last: settings a superuser may set come first.
        const ordered = [...wanted].sort(([a], [b]) => Number(a === "role") - Number(b === "role"));
        for (const [name, value] of ordered) {
          try {
            await this.#db.query("select set_config($1, $2, false)", [name, value]);
          } catch {
            // A start-up parameter PGlite does not know: Postgres would have refused the
            // connection; here the client simply goes without it.
          }
        }
      }
      this.#appliedSettings = new Map(wanted);
      this.#sessionDirty = false;
    }
    this.#applied = client;
  }

  /** The settings of the session that differ from the defaults (role included). */
  async #captureSettings(): Promise<Settings> {
    {
      const { rows } = await this.#db.query<{ name: string; setting: string }>(
        `select name, setting from pg_catalog.pg_settings where source in ('session', 'client')
         union all select 'role', current_setting('role') where current_setting('role') <> 'none'`,
      );
      return new Map(rows.map((row) => [row.name, row.setting]));
    }
  }

  /** Runs one message of `client`; returns the reply and the last ReadyForQuery status. */
  async #execute(
    client: Client,
    message: Uint8Array,
  ): Promise<{ reply: Uint8Array; status: string | null }> {
    const type = String.fromCharCode(message[0]);
    if ((type === "Q" || type === "P") && changesSession(message)) this.#sessionDirty = true;
    const rewritten = renameStatements(client, message);
    // The raw protocol call does not take PGlite's lock itself.
    const reply = (await this.#db.runExclusive(() => this.#db.execProtocolRaw(rewritten))).slice();
    return { reply, status: lastReadyStatus(reply) };
  }

  /** A client left: roll back what it left open, drop its statements, pass the session on. */
  async #leave(client: Client): Promise<void> {
    client.closed = true;
    this.#clients.delete(client);
    this.#turns.forget(client);
    const owned = this.#turns.owner === client;
    if (!this.#stopping && (owned || client.statements.size > 0)) {
      if (!owned) await this.#turns.acquire(client);
      try {
        if (this.#db.isInTransaction()) await this.#db.exec("rollback");
        for (const name of client.statements) {
          await this.#db.exec(`deallocate ${quoteIdent(name)}`).catch(() => {});
        }
      } catch {
        // The database itself failed; the next client meets the same error on its own.
      } finally {
        this.#turns.release(client);
      }
    } else if (owned) {
      this.#turns.release(client);
    }
    closeQuietly(client);
  }
}

/** Reads start-up packets, then typed messages, from a connection. */
class MessageReader {
  #buffer = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  async #fill(size: number): Promise<boolean> {
    while (this.#buffer.length < size) {
      const chunk = new Uint8Array(64 * 1024);
      const n = await this.conn.read(chunk);
      if (n === null) return false;
      const merged = new Uint8Array(this.#buffer.length + n);
      merged.set(this.#buffer);
      merged.set(chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = merged;
    }
    return true;
  }

  #take(size: number): Uint8Array {
    const taken = this.#buffer.slice(0, size);
    this.#buffer = this.#buffer.slice(size);
    return taken;
  }

  /** A start-up packet: int32 length (itself included), then its body. */
  async startupPacket(): Promise<Uint8Array | null> {
    if (!await this.#fill(4)) return null;
    const length = new DataView(this.#buffer.buffer, this.#buffer.byteOffset).getInt32(0);
    if (length < 8 || length > 10_000) throw new RangeError("bad start-up packet");
    if (!await this.#fill(length)) return null;
    return this.#take(length);
  }

  /** A message: type byte, int32 length (itself included), then its body. */
  async message(): Promise<Uint8Array | null> {
    if (!await this.#fill(5)) return null;
    const length = new DataView(this.#buffer.buffer, this.#buffer.byteOffset).getInt32(1);
    if (length < 4) throw new RangeError("bad message length");
    if (!await this.#fill(1 + length)) return null;
    return this.#take(1 + length);
  }
}

/** A start-up message for protocol 3.0 with these parameters. */
function startupMessage(parameters: Record<string, string>): Uint8Array {
  const body: number[] = [];
  for (const [key, value] of Object.entries(parameters)) {
    body.push(...encoder.encode(key), 0, ...encoder.encode(value), 0);
  }
  body.push(0);
  const packet = new Uint8Array(8 + body.length);
  const view = new DataView(packet.buffer);
  view.setInt32(0, packet.length);
  view.setInt32(4, PROTOCOL_3);
  packet.set(body, 8);
  return packet;
}

function startupParameters(packet: Uint8Array): [string, string][] {
  const parts = decoder.decode(packet.subarray(8)).split("\0");
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < parts.length && parts[i] !== ""; i += 2) {
    pairs.push([parts[i], parts[i + 1]]);
  }
  return pairs;
}

/** Status byte of the last ReadyForQuery ('Z') in a reply, or null when there is none. */
function lastReadyStatus(reply: Uint8Array): string | null {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  let status: string | null = null;
  for (let i = 0; i + 5 <= reply.length;) {
    const length = view.getInt32(i + 1);
    if (reply[i] === 0x5a && length === 5) status = String.fromCharCode(reply[i + 5]);
    i += 1 + length;
  }
  return status;
}

function changesSession(message: Uint8Array): boolean {
  // A Parse message starts with the statement name: NULs end fields, as line ends for the regex.
  const text = decoder.decode(message.subarray(5)).replaceAll("\0", "\n");
  return SESSION_CHANGE.test(text) || SESSION_SET_CONFIG.test(text);
}

/**
 * `message` with its statement and portal names prefixed for `client` (the unnamed ones stay
 * unnamed: they last until the next Parse or Bind, inside the client's turn).
 */
function renameStatements(client: Client, message: Uint8Array): Uint8Array {
  const type = String.fromCharCode(message[0]);
  const fields: { at: number; kind: "S" | "P" }[] = [];
  let offset = 5;
  const cstringEnd = (from: number) => message.indexOf(0, from);
  switch (type) {
    case "P": // Parse: statement name, query, …
      fields.push({ at: offset, kind: "S" });
      break;
    case "B": { // Bind: portal name, statement name, …
      fields.push({ at: offset, kind: "P" });
      offset = cstringEnd(offset) + 1;
      fields.push({ at: offset, kind: "S" });
      break;
    }
    case "D": // Describe / Close: 'S' or 'P', then the name
    case "C":
      fields.push({ at: offset + 1, kind: message[offset] === 0x53 ? "S" : "P" });
      break;
    case "E": // Execute: portal name, row limit
      fields.push({ at: offset, kind: "P" });
      break;
    default:
      return message;
  }
  const pieces: Uint8Array[] = [];
  let copied = 5;
  for (const field of fields) {
    const end = cstringEnd(field.at);
    if (end === field.at) continue; // unnamed
    const name = decoder.decode(message.subarray(field.at, end));
    if (type === "P" && field.kind === "S") client.statements.add(client.prefix + name);
    if (type === "C" && field.kind === "S") client.statements.delete(client.prefix + name);
    pieces.push(message.subarray(copied, field.at), encoder.encode(client.prefix));
    copied = field.at;
  }
  if (pieces.length === 0) return message;
  pieces.push(message.subarray(copied));
  const bodyLength = pieces.reduce((sum, piece) => sum + piece.length, 0);
  const out = new Uint8Array(5 + bodyLength);
  out[0] = message[0];
  new DataView(out.buffer).setInt32(1, 4 + bodyLength);
  let at = 5;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

function sameSettings(a: Settings, b: Settings): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

/** An ErrorResponse message. */
function errorResponse(severity: string, code: string, message: string): Uint8Array {
  const body = encoder.encode(`S${severity}\0V${severity}\0C${code}\0M${message}\0\0`);
  const out = new Uint8Array(5 + body.length);
  out[0] = 0x45;
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function closeQuietly(client: Client): void {
  client.closed = true;
  try {
    client.conn.close();
  } catch {
    // Already closed.
  }
}
