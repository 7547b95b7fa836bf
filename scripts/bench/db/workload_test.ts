import assert from "node:assert/strict";
import { cachedInventory, literal, random } from "./workload.ts";

Deno.test("random() draws the same numbers from the same seed, in [0, 1)", () => {
  const a = random(7), b = random(7), c = random(8);
  const first = Array.from({ length: 5 }, a);
  assert.deepEqual(first, Array.from({ length: 5 }, b));
  assert.notDeepEqual(first, Array.from({ length: 5 }, c));
  assert.ok(first.every((v) => v >= 0 && v < 1));
});

Deno.test("literal() quotes SQL strings and keeps null", () => {
  assert.equal(literal("O'Brien"), "'O''Brien'");
  assert.equal(literal(null), "null");
});

Deno.test("cachedInventory() runs the same pages through the cache", () => {
  const [call] = cachedInventory([{
    sql: "select * from public.inventory_levels(array[1, 2]::bigint[], null)",
    role: "anon",
    claims: { role: "anon" },
    label: "inventory",
  }]);
  assert.equal(
    call.sql,
    "select * from shop_api.inventory_levels_cached(array[1, 2]::bigint[], null)",
  );
  assert.equal(call.role, "service_role");
  assert.equal(call.label, "inventory, cached");
});
