/**
 * `deno task migrate [--db-url URL]`: applies the local compatibility SQL (plain Postgres only; it
 * changes nothing on a database that already has Supabase's roles and auth schema) and every pending
 * migration to the database at `--db-url`, `DATABASE_URL`, or the local cluster on 54322.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain } from "./lib/command.ts";
import { applyCompat, migrateUrl } from "./lib/migrate.ts";
import { devCluster } from "./lib/pg_cluster.ts";

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "db-url": { type: "string" }, "no-compat": { type: "boolean" } },
  });
  const url = values["db-url"] ?? Deno.env.get("DATABASE_URL") ?? devCluster().url();
  if (!values["no-compat"]) await applyCompat(url);
  const applied = await migrateUrl(url, { log: console.log });
  console.log(applied.length === 0 ? "database is up to date" : `${applied.length} applied`);
});
