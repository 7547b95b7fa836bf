import assert from "node:assert/strict";
import { closeJsonArray, counted, prefixed, UTF8_BOM } from "./encoders.ts";

const encoder = new TextEncoder();

function source(...parts: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => encoder.encode(p)));
}

Deno.test("closeJsonArray() ends the rows Postgres wrote, or writes [] for none", async () => {
  const rows = await new Response(source('[{"a":1}\n', ',{"a":2}\n').pipeThrough(closeJsonArray()))
    .json();
  assert.deepEqual(rows, [{ a: 1 }, { a: 2 }]);
  assert.deepEqual(await new Response(source().pipeThrough(closeJsonArray())).json(), []);
});

Deno.test("prefixed() writes the BOM once, even for an empty body", async () => {
  const bytes = new Uint8Array(
    await new Response(source("a,b\n", "1,2\n").pipeThrough(prefixed(UTF8_BOM))).arrayBuffer(),
  );
  assert.deepEqual([...bytes.subarray(0, 4)], [0xef, 0xbb, 0xbf, 0x61]);
  const empty = await new Response(source().pipeThrough(prefixed(UTF8_BOM))).arrayBuffer();
  assert.equal(empty.byteLength, 3);
});

Deno.test("counted() reports bytes and how the stream ended", async () => {
  const ends: [number, string][] = [];
  await new Response(counted(source("abc", "de"), (b, o) => ends.push([b, o]))).text();
  const reader = counted(source("abc", "de"), (b, o) => ends.push([b, o])).getReader();
  await reader.read();
  await reader.cancel();
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("connection lost"));
    },
  });
  await assert.rejects(new Response(counted(failing, (b, o) => ends.push([b, o]))).text());
  assert.deepEqual(ends, [[5, "complete"], [3, "cancelled"], [0, "failed"]]);
});
