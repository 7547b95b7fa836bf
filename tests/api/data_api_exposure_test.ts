import assert from "node:assert/strict";
import postgres from "postgres";
import { parse } from "smol-toml";
import { testDatabaseUrl } from "../_support/dev_server.ts";

const CONFIG = new URL("../../supabase/config.toml", import.meta.url);

/** The Data API settings of supabase/config.toml. */
async function dataApiConfig(): Promise<{ schemas: string[]; extraSearchPath: string[] }> {
  const config = parse(await Deno.readTextFile(CONFIG)) as {
    api?: { schemas?: string[]; extra_search_path?: string[] };
  };
  return {
    schemas: config.api?.schemas ?? ["public", "graphql_public"],
    extraSearchPath: config.api?.extra_search_path ?? [],
  };
}

Deno.test("data api: no shop schema is exposed or on the search path", async () => {
  const { schemas, extraSearchPath } = await dataApiConfig();
  for (const schema of ["public", "private", "shop_api", "rate_limit", "metrics", "demo", "auth"]) {
    assert.ok(!schemas.includes(schema), `${schema} must not be exposed: ${schemas}`);
  }
  // pg_graphql reflects the schemas on the search path: public there would show its tables.
  assert.ok(!extraSearchPath.includes("public"), `extra_search_path: ${extraSearchPath}`);
});

Deno.test("data api: nothing the API roles may call in an exposed schema writes", async () => {
  const { schemas, extraSearchPath } = await dataApiConfig();
  const reachable = [...new Set([...schemas, ...extraSearchPath])];
  const sql = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
  try {
    // Volatile functions are the only ones that may write; extension members are the extension's.
    const rows = await sql`
      select p.oid::regprocedure::text as fn, r.role
      from pg_catalog.pg_proc p
      join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      cross join unnest(array['anon', 'authenticated']) r(role)
      where n.nspname = any (${reachable}::text[]) and p.prokind = 'f' and p.provolatile = 'v'
        and has_function_privilege(r.role, p.oid, 'execute')
        and not exists (select 1 from pg_catalog.pg_depend d
          where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
      order by 1, 2`;
    assert.deepEqual(rows.map((r) => `${r.fn} (${r.role})`), []);
    const [{ moved }] = await sql`
      select array(
        select r.role || ':' || f.sig
        from unnest(array['shop_api.place_order(uuid,jsonb,text,text)',
          'shop_api.inventory_levels_cached(bigint[],text[])']) f(sig),
          unnest(array['anon', 'authenticated']) r(role)
        where has_function_privilege(r.role, f.sig, 'execute')
          or has_schema_privilege(r.role, 'shop_api', 'usage')
      ) as moved`;
    assert.deepEqual(moved, []);
  } finally {
    await sql.end();
  }
});
