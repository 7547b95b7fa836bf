import assert from "node:assert/strict";
import { functionImportMap, staleFunctionConfigs } from "./function_import_maps.ts";

Deno.test("every function's deno.json matches the root import map (deno task sync:imports)", async () => {
  assert.deepEqual(await staleFunctionConfigs(), []);
});

Deno.test("function import maps pin exact npm versions and leave dev-only packages out", async () => {
  const map = await functionImportMap();
  for (const [key, target] of Object.entries(map)) {
    assert.match(target, /^npm:\/?(@[^/]+\/)?[^@/]+@\d+\.\d+\.\d+(\/.*)?$/, key);
  }
  assert.ok(!("@electric-sql/pglite" in map));
  assert.ok("hono" in map && "zod" in map && "postgres" in map);
});
