/**
 * One export page as a byte stream straight from Postgres, in constant memory:
 *
 * 1. one transaction `isolation level repeatable read, read only` (one snapshot for the page),
 *    `statement_timeout` raised to the page's time budget, `TimeZone` UTC;
 * 2. a concurrency slot per caller taken with `pg_try_advisory_xact_lock` (shared by every isolate,
 *    released by the database when the transaction ends, whatever happens to the isolate);
 * 3. the caller's role and claims (RLS: a customer reads only their own orders);
 * 4. the page boundary (last key; the row count of a last page), then `COPY … TO STDOUT`
 *    (query.ts).
 *
 * The COPY is read as the client reads: the web stream pulls from postgres.js' COPY stream, whose
 * buffer pauses the socket when full (postgres.js `CopyData` → `socket.pause()`), so Postgres
 * blocks on a full socket rather than the isolate buffering. A client that goes away cancels the
 * response stream: the query gets a cancel request, the stream is destroyed and the transaction
 * rolls back, which frees the connection and the slot. postgres.js' COPY streams had hangs when a
 * consumer paused them (porsager/postgres#499, gzip through Node pipes; #917, no `close` event):
 * here nothing pipes Node streams — the web stream pulls with `read()` and is woken by `readable`,
 * `end`, `error` and `close` alike, and a destroyed stream also settles the page, so neither hang
 * can hold a connection.
 * @module
 */
import type postgres from "postgres";
import type { Caller } from "../_shared/auth/caller.ts";
import { becomeCaller } from "../_shared/db/as_caller.ts";
import { ProblemError } from "../_shared/http/problem.ts";
import {
  type CopyFormat,
  type CsvLayout,
  type KeyValues,
  type PageSpec,
  pageStatements,
} from "./query.ts";

/** Postgres COPY stream as postgres.js gives it (a Node Readable). */
interface CopyReadable {
  read(): Uint8Array | null;
  on(event: string, fn: (arg?: unknown) => void): void;
  once(event: string, fn: (arg?: unknown) => void): void;
  off(event: string, fn: (arg?: unknown) => void): void;
  destroy(error?: Error): void;
  readonly readableEnded: boolean;
  readonly destroyed: boolean;
}

/** Options of {@linkcode openPage}. */
export interface OpenPageOptions {
  /** Format Postgres writes. */
  format: CopyFormat;
  csv: CsvLayout;
  /** Concurrent exports one caller may run. */
  maxConcurrent: number;
  /** The page's time budget; also its `statement_timeout`. */
  timeoutMs: number;
  /** Whether this page is the export's first (reads the high-water mark). */
  first: boolean;
}

/** An opened page: its rows are known, its bytes not read yet. */
export interface OpenedPage {
  /** Postgres' bytes of the page. */
  body: ReadableStream<Uint8Array>;
  /** Rows the page holds. */
  rows: number;
  /** Key of its last row, when there are rows after it. */
  nextAfter?: KeyValues;
  /** High-water mark in force. */
  upto?: string;
  /** Settles when the transaction has ended (committed, rolled back). */
  done: Promise<void>;
}

/** The caller has `maxConcurrent` exports running already. */
export function tooManyExports(max: number): ProblemError {
  return new ProblemError({
    type: "too-many-exports",
    status: 429,
    title: "Too Many Requests",
    detail: `At most ${max} exports may run at once per caller; retry when one has finished`,
    max_concurrent: max,
  }, { headers: { "retry-after": "5" } });
}

class ClientGone extends Error {
  constructor() {
    super("The client stopped reading the export");
    this.name = "ClientGone";
  }
}

/**
 * Opens a page: resolves once Postgres has started sending it (headers can go out), rejects with
 * the database's error or a 429 problem before any byte.
 *
 * @example
 * ```ts
 * const page = await openPage(getDb(), caller, spec, { format: "csv", csv, maxConcurrent: 2,
 *   timeoutMs: 120_000, first: true });
 * return new Response(page.body);
 * ```
 */
export function openPage(
  sql: postgres.Sql,
  caller: Caller,
  spec: PageSpec,
  options: OpenPageOptions,
): Promise<OpenedPage> {
  return new Promise<OpenedPage>((resolveOpen, rejectOpen) => {
    let opened = false;
    const done = sql.begin(
      "isolation level repeatable read read only",
      async (tx) => {
        await tx`select pg_catalog.set_config('statement_timeout', ${
          String(options.timeoutMs)
        }, true),
                      pg_catalog.set_config('TimeZone', 'UTC', true)`;
        const subject = caller.userId ?? caller.role;
        const [slot] = await tx`
        select s from pg_catalog.generate_series(0, ${options.maxConcurrent - 1}::int) s
        where pg_catalog.pg_try_advisory_xact_lock(
          pg_catalog.hashtext('comptoir_export'), pg_catalog.hashtext(${subject} || ':' || s))
        limit 1`;
        if (!slot) throw tooManyExports(options.maxConcurrent);
        await becomeCaller(tx, caller);

        let upto = spec.upto;
        const probe = pageStatements(spec);
        if (options.first && probe.highWater) {
          const [row] = await tx.unsafe(probe.highWater);
          upto = String(row.upto);
        }
        const page = pageStatements({ ...spec, upto });
        await setAll(tx, page.settings);
        const bounds = await tx.unsafe(page.boundary);
        const keyOf = (row: Record<string, unknown>) =>
          spec.resource.key.map((_, i) => String(row[`k${i}`]));
        const last = bounds.length > 0 ? keyOf(bounds[0]) : undefined;
        const rows = last ? spec.pageRows : Number((await tx.unsafe(page.count))[0].n);
        const copy = page.copy(options.format, options.csv, last);
        await setAll(tx, copy.settings);
        const query = tx.unsafe(copy.text);
        const readable = await query.readable() as unknown as CopyReadable;
        let finished!: () => void;
        let failed!: (error: unknown) => void;
        const ended = new Promise<void>((resolve, reject) => {
          finished = resolve;
          failed = reject;
        });
        // Listened to for the stream's whole life: a Node stream that emits `error` with no
        // listener throws it out of the event loop, which would end the process. The connection
        // can drop while no read is pending (a client between two reads).
        let streamError: unknown;
        readable.on("error", (error) => {
          streamError ??= error;
          failed(error);
        });
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            try {
              if (streamError !== undefined) throw streamError;
              const chunk = await nextBatch(readable);
              if (chunk === null) {
                // The body ends once the transaction has: a client that asks for the next page
                // at once must find its concurrency slot free.
                finished();
                await done;
                controller.close();
              } else {
                controller.enqueue(chunk);
              }
            } catch (error) {
              controller.error(error);
              failed(error);
            }
          },
          cancel() {
            // The client went away: stop the server, drop what is buffered, end the transaction.
            query.cancel();
            readable.destroy();
            failed(new ClientGone());
          },
        }, { highWaterMark: 0 });
        opened = true;
        resolveOpen({
          body,
          rows,
          nextAfter: bounds.length > 1 ? last : undefined,
          upto,
          done: done.then(() => {}, () => {}),
        });
        await ended;
      },
    );
    done.catch((error) => {
      if (!opened) rejectOpen(error);
    });
  });
}

async function setAll(
  tx: postgres.TransactionSql,
  settings: [string, string][],
): Promise<void> {
  if (settings.length === 0) return;
  const calls = settings.map((_, i) => `pg_catalog.set_config($${2 * i + 1}, $${2 * i + 2}, true)`);
  await tx.unsafe(`select ${calls.join(", ")}`, settings.flat());
}

/**
 * Bytes a chunk of the response gathers before it is passed on. Postgres sends one COPY message
 * per row (~100 bytes): passed one by one, every later stage (gzip above all, which compresses
 * each chunk it is handed) would pay per row.
 */
const BATCH_BYTES = 64 * 1024;

/** The next batch of about {@linkcode BATCH_BYTES} of the COPY stream; `null` at its end. */
async function nextBatch(stream: CopyReadable): Promise<Uint8Array | null> {
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < BATCH_BYTES) {
    const chunk = await nextChunk(stream);
    if (chunk === null) break;
    parts.push(chunk);
    size += chunk.length;
  }
  if (parts.length === 0) return null;
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Waits for the next buffered bytes of the COPY stream; `null` at its end. */
function nextChunk(stream: CopyReadable): Promise<Uint8Array | null> {
  const chunk = stream.read();
  if (chunk !== null) return Promise.resolve(chunk);
  if (stream.readableEnded) return Promise.resolve(null);
  if (stream.destroyed) return Promise.reject(new ClientGone());
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    const onReadable = () => {
      cleanup();
      nextChunk(stream).then(resolve, reject);
    };
    const onEnd = () => {
      cleanup();
      resolve(null);
    };
    const onError = (error?: unknown) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      if (stream.readableEnded) resolve(null);
      else reject(new ClientGone());
    };
    stream.once("readable", onReadable);
    stream.once("end", onEnd);
    stream.once("error", onError);
    stream.once("close", onClose);
  });
}

/** Whether an error is the client going away (not a failure of the export). */
export function isClientGone(error: unknown): boolean {
  return error instanceof ClientGone;
}
