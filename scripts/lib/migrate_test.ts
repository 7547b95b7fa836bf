import assert from "node:assert/strict";
import { migrate, MigrationError } from "./migrate.ts";
import { openPGlite } from "./pglite.ts";
import { pgliteRunner } from "./sql_runner.ts";

async function migrationsDir(files: Record<string, string>): Promise<URL> {
  const dir = await Deno.makeTempDir({ prefix: "comptoir-migrations-" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return new URL(`file://${dir}/`);
}

Deno.test("migrate() applies files in version order and records them like the Supabase CLI", async () => {
  const dir = await migrationsDir({
    "20260101000200_add_price.sql": "alter table public.t add column price int;",
    "20260101000100_create_t.sql": "create table public.t (id int primary key);",
    "README.md": "not a migration",
  });
  const db = pgliteRunner(await openPGlite());
  try {
    assert.deepEqual(await migrate(db, { dir }), [
      "20260101000100_create_t.sql",
      "20260101000200_add_price.sql",
    ]);
    const rows = await db.query<{ version: string; name: string; statements: string[] }>(
      "select version, name, statements from supabase_migrations.schema_migrations order by version",
    );
    assert.deepEqual(rows.map((r) => [r.version, r.name]), [
      ["20260101000100", "create_t"],
      ["20260101000200", "add_price"],
    ]);
    assert.equal(rows[0].statements[0], "create table public.t (id int primary key);");
  } finally {
    await db.close();
  }
});

Deno.test("migrate() is idempotent: a second run applies nothing", async () => {
  const dir = await migrationsDir({
    "20260101000100_create_t.sql": "create table public.t (id int primary key);",
  });
  const db = pgliteRunner(await openPGlite());
  try {
    assert.equal((await migrate(db, { dir })).length, 1);
    assert.deepEqual(await migrate(db, { dir }), []);
  } finally {
    await db.close();
  }
});

Deno.test("migrate() stops at the first failing file with its name, line and the server's message", async () => {
  const dir = await migrationsDir({
    "20260101000100_create_t.sql": "create table public.t (id int primary key);",
    "20260101000200_broken.sql": [
      "-- adds a column",
      "alter table public.t add column ok int;",
      "",
      "select * from public.missing_table;",
    ].join("\n"),
    "20260101000300_never.sql": "create table public.never (id int);",
  });
  const db = pgliteRunner(await openPGlite());
  try {
    const err = await migrate(db, { dir }).then(() => undefined, (e) => e);
    assert.ok(err instanceof MigrationError);
    assert.equal(err.file, "20260101000200_broken.sql");
    assert.equal(err.line, 4);
    assert.equal(err.serverError.code, "42P01");
    assert.match(
      err.message,
      /20260101000200_broken\.sql line 4 failed: relation "public\.missing_table" does not exist/,
    );
    // The failing file left nothing behind and the next file did not run.
    const cols = await db.query(
      "select 1 from information_schema.columns where column_name = 'ok'",
    );
    assert.equal(cols.length, 0);
    const never = await db.query("select to_regclass('public.never') as t");
    assert.deepEqual(never, [{ t: null }]);
    const recorded = await db.query<{ version: string }>(
      "select version from supabase_migrations.schema_migrations",
    );
    assert.deepEqual(recorded.map((r) => r.version), ["20260101000100"]);
  } finally {
    await db.close();
  }
});
