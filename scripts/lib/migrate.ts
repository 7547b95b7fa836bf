/**
 * The migration runner for PGlite and any Postgres URL: applies `supabase/migrations/*.sql` in
 * version order, each file in its own transaction, and records it in
 * `supabase_migrations.schema_migrations` exactly where the Supabase CLI does, so either tool can
 * take over. Applying twice is a no-op; the first failing file stops the run with its name, line
 * and the server's message.
 * @module
 */
import { StackError } from "./command.ts";
import { lineOf, postgresRunner, type ServerError, type SqlRunner } from "./sql_runner.ts";

/** Folder of the migration files. */
export const MIGRATIONS_DIR = new URL("../../supabase/migrations/", import.meta.url);

/** The local Supabase compatibility SQL (roles, auth schema) for plain Postgres and PGlite. */
export const COMPAT_SQL = new URL("../../supabase/local/compat.sql", import.meta.url);

/** One migration file. */
export interface Migration {
  version: string;
  name: string;
  file: string;
  text: string;
}

/** A migration that failed, with where and why. */
export class MigrationError extends StackError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly serverError: ServerError,
  ) {
    super(
      `migration ${file}${line ? ` line ${line}` : ""} failed: ${serverError.message}` +
        (serverError.code ? ` (SQLSTATE ${serverError.code})` : "") +
        (serverError.detail ? `\n  detail: ${serverError.detail}` : "") +
        (serverError.hint ? `\n  hint: ${serverError.hint}` : "") +
        (serverError.where ? `\n  where: ${serverError.where}` : ""),
    );
    this.name = "MigrationError";
  }
}

/** Reads the migration files of `dir`, sorted by version. */
export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = /^(\d{14})_(.+)\.sql$/.exec(entry.name);
    if (!entry.isFile || !match) continue;
    migrations.push({
      version: match[1],
      name: match[2],
      file: entry.name,
      text: await Deno.readTextFile(new URL(entry.name, dir)),
    });
  }
  return migrations.sort((a, b) => a.version.localeCompare(b.version));
}

/** Options of {@linkcode migrate}. */
export interface MigrateOptions {
  /** Folder of the migration files. */
  dir?: URL;
  /** Progress output. */
  log?: (line: string) => void;
}

/**
 * Applies pending migrations; returns the files applied.
 *
 * @example
 * ```ts
 * const applied = await migrate(postgresRunner(url), { log: console.log });
 * ```
 */
export async function migrate(db: SqlRunner, options: MigrateOptions = {}): Promise<string[]> {
  const { dir = MIGRATIONS_DIR, log = () => {} } = options;
  await db.exec(`
    create schema if not exists supabase_migrations;
    create table if not exists supabase_migrations.schema_migrations (
      version text not null primary key,
      statements text[],
      name text
    );`);
  const done = new Set(
    (await db.query<{ version: string }>(
      "select version from supabase_migrations.schema_migrations",
    )).map((row) => row.version),
  );
  const applied: string[] = [];
  for (const migration of await readMigrations(dir)) {
    if (done.has(migration.version)) continue;
    const started = performance.now();
    try {
      await db.transaction(async (tx) => {
        await tx.exec(migration.text);
        await tx.query(
          "insert into supabase_migrations.schema_migrations (version, statements, name) " +
            "values ($1, $2, $3)",
          [migration.version, [migration.text], migration.name],
        );
      });
    } catch (err) {
      const serverError = toServerError(err);
      const position = Number(serverError.position);
      throw new MigrationError(
        migration.file,
        Number.isFinite(position) && position > 0 ? lineOf(migration.text, position) : undefined,
        serverError,
      );
    }
    log(`applied ${migration.file} (${(performance.now() - started).toFixed(0)} ms)`);
    applied.push(migration.file);
  }
  return applied;
}

/** Applies the compatibility SQL; the file itself changes nothing where Supabase's objects exist. */
export async function applyCompatTo(db: SqlRunner): Promise<void> {
  const text = await Deno.readTextFile(COMPAT_SQL);
  try {
    await db.transaction((tx) => tx.exec(text));
  } catch (err) {
    const serverError = toServerError(err);
    const position = Number(serverError.position);
    throw new MigrationError(
      "supabase/local/compat.sql",
      Number.isFinite(position) && position > 0 ? lineOf(text, position) : undefined,
      serverError,
    );
  }
}

/** Applies the compatibility SQL to the database at `url`. */
export async function applyCompat(url: string): Promise<void> {
  const db = postgresRunner(url);
  try {
    await applyCompatTo(db);
  } finally {
    await db.close();
  }
}

/** Applies pending migrations to the database at `url`. */
export async function migrateUrl(url: string, options: MigrateOptions = {}): Promise<string[]> {
  const db = postgresRunner(url);
  try {
    return await migrate(db, options);
  } finally {
    await db.close();
  }
}

function toServerError(err: unknown): ServerError {
  if (err && typeof err === "object" && "message" in err) {
    const e = err as Record<string, unknown>;
    return {
      message: String(e.message),
      code: e.code as string | undefined,
      position: e.position as string | number | undefined,
      detail: e.detail as string | undefined,
      hint: e.hint as string | undefined,
      where: e.where as string | undefined,
    };
  }
  return { message: String(err) };
}
