/**
 * The embedded database of the default dev stack: PGlite (Postgres compiled to WASM) with the
 * contrib extensions the migrations and the local Auth (pgcrypto, for bcrypt) use. It has no pg_cron and no pg_stat_statements; migrations
 * guard on them, and the dev gateway's scheduler runs the cron job definitions instead.
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { btree_gin } from "@electric-sql/pglite/contrib/btree_gin";
import { pgcrypto } from "@electric-sql/pglite/contrib/pgcrypto";

/** Opens PGlite in memory (no `dataDir`) or in a folder that persists between runs. */
export async function openPGlite(dataDir?: string): Promise<PGlite> {
  const db = new PGlite({ dataDir, extensions: { pg_trgm, btree_gin, pgcrypto } });
  await db.waitReady;
  return db;
}
