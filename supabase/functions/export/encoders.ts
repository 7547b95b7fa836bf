/**
 * Byte-stream stages between Postgres' COPY output and the client: the end of a JSON array, a
 * prefix (the UTF-8 byte order mark Excel needs to read UTF-8 CSV), gzip
 * (`CompressionStream`), and the final stage that counts bytes and reports how the stream ended.
 * Every stage works chunk by chunk and holds at most one chunk, so memory stays flat whatever the
 * export's size, and each pulls only when the next one asks (backpressure reaches the database).
 * @module
 */

const encoder = new TextEncoder();

/** The UTF-8 byte order mark. */
export const UTF8_BOM: Uint8Array = new Uint8Array([0xef, 0xbb, 0xbf]);

/**
 * Closes the JSON array whose rows Postgres wrote (query.ts: `[` before the first row, `,` before
 * the others): `]` after them, or `[]` when there was no row.
 *
 * @example
 * ```ts
 * const array = rows.pipeThrough(closeJsonArray());
 * ```
 */
export function closeJsonArray(): TransformStream<Uint8Array, Uint8Array> {
  let any = false;
  return new TransformStream({
    transform(chunk, controller) {
      if (chunk.length > 0) any = true;
      controller.enqueue(chunk);
    },
    flush(controller) {
      controller.enqueue(encoder.encode(any ? "]\n" : "[]\n"));
    },
  });
}

/**
 * Writes `prefix` before the first byte.
 *
 * @example
 * ```ts
 * const csv = copy.pipeThrough(prefixed(UTF8_BOM));
 * ```
 */
export function prefixed(
  prefix: Uint8Array,
): TransformStream<Uint8Array, Uint8Array> {
  let sent = false;
  return new TransformStream({
    transform(chunk, controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(prefix);
      }
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (!sent) controller.enqueue(prefix);
    },
  });
}

/** How a response body ended. */
export type StreamOutcome = "complete" | "cancelled" | "failed";

/**
 * The last stage: passes `source` through, counting bytes, and calls `onEnd` once with the byte
 * count and the outcome (read to the end, cancelled by the client, failed upstream). Cancelling it
 * cancels `source`, which reaches the database.
 *
 * @example
 * ```ts
 * const body = counted(stream, (bytes, outcome) => console.log(bytes, outcome));
 * ```
 */
export function counted(
  source: ReadableStream<Uint8Array>,
  onEnd: (bytes: number, outcome: StreamOutcome, error?: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let bytes = 0;
  let reported = false;
  const report = (outcome: StreamOutcome, error?: unknown) => {
    if (reported) return;
    reported = true;
    onEnd(bytes, outcome, error);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          report("complete");
          return;
        }
        bytes += value.byteLength;
        controller.enqueue(value);
      } catch (error) {
        // An error mid-stream aborts the response: the client sees a cut transfer, never a file
        // that looks complete.
        controller.error(error);
        report("failed", error);
      }
    },
    async cancel(reason) {
      report("cancelled");
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
