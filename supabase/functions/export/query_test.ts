import assert from "node:assert/strict";
import { pageStatements } from "./query.ts";
import { RESOURCES } from "./resources.ts";

Deno.test("pageStatements() carries every value as a setting, never in the SQL text", () => {
  const evil = "2026-01-01'); drop table public.orders; --";
  const page = pageStatements({
    resource: RESOURCES.orders,
    filters: { from: evil, status: "{paid}" },
    ownerId: "00000000-0000-0000-0000-000000000001",
    after: ["41"],
    upto: "99",
    pageRows: 10,
  });
  const copy = page.copy("csv", { delimiter: ";", header: true }, ["50"]);
  for (const text of [page.boundary, page.count, copy.text]) {
    assert.ok(!text.includes(evil));
    assert.ok(!text.includes("00000000-0000"));
  }
  assert.deepEqual(Object.fromEntries([...page.settings, ...copy.settings]), {
    "comptoir_export.from": evil,
    "comptoir_export.status": "{paid}",
    "comptoir_export.owner": "00000000-0000-0000-0000-000000000001",
    "comptoir_export.upto": "99",
    "comptoir_export.after_0": "41",
    "comptoir_export.offset": "9",
    "comptoir_export.last_0": "50",
  });
  assert.match(
    copy.text,
    /^copy \(select .* order by o\.id\) to stdout with \(format csv, header true, delimiter ';'\)$/,
  );
});

Deno.test("pageStatements() neutralises formulas in text cells only", () => {
  const copy = pageStatements({ resource: RESOURCES.products, filters: {}, pageRows: 10 })
    .copy("csv", { delimiter: ",", header: true }, undefined);
  assert.match(copy.text, /case when pg_catalog\.left\(\(p\.name\)::text, 1\) in/);
  assert.ok(!copy.text.includes("left((p.price_cents)"));
});

Deno.test("pageStatements() writes JSON through COPY's CSV mode with quote and delimiter JSON never holds", () => {
  const copy = pageStatements({ resource: RESOURCES.orders, filters: {}, pageRows: 10 })
    .copy("json", { delimiter: ",", header: true }, undefined);
  assert.match(copy.text, /quote e'\\x01', delimiter e'\\x02'\)$/);
  assert.match(copy.text, /row_number\(\) over \(\) = 1 then '\[' else ','/);
});
