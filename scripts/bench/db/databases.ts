/**
 * The two databases the benchmark compares, on the server it is pointed at:
 *
 *   comptoir_bench_base   the base schema (migrations 20261126100*) plus the shop functions in
 *                         their plain form (20261126110000): no query indexes, no views, no cache
 *   comptoir_bench_opt    a copy of it with every later migration applied on top
 *
 * The base is generated once (demo generator, order ids in time order as a shop's identity column
 * gives them) and copied, so both hold byte-identical data; the optimised one is the base plus
 * what `supabase db push` would apply to a live shop. Both are reused while they match the requested
 * scale and seed and their data ends no earlier than yesterday (the dashboard reads the last days).
 * @module
 */
import postgres from "postgres";
import { StackError } from "../../lib/command.ts";
import { applyCompatTo, migrate, MIGRATIONS_DIR, readMigrations } from "../../lib/migrate.ts";
import { postgresRunner, type SqlRunner } from "../../lib/sql_runner.ts";
import { installHarness } from "./timing.ts";

/** Name of the base database. */
export const BASE_DB = "comptoir_bench_base";
/** Name of the optimised database. */
export const OPT_DB = "comptoir_bench_opt";
/** Last migration of the base: the shop functions in their plain form. */
export const BASE_LAST_VERSION = "20261126110000";

/** What was generated. */
export interface BenchData {
  scale: number;
  seed: number;
  /** Exclusive end of the order history (UTC midnight). */
  end: string;
  days: number;
  orders: number;
  products: number;
  categories: number;
  customers: number;
}

/** The databases, ready to measure. */
export interface BenchDatabases {
  baseUrl: string;
  optUrl: string;
  data: BenchData;
  /** Migrations applied on top of the base copy, with their durations (when it was made). */
  migrations: { file: string; ms: number }[];
  /** Whether the data was generated in this run. */
  generated: boolean;
}

/** Options of {@linkcode ensureBenchDatabases}. */
export interface EnsureOptions {
  scale: number;
  seed: number;
  /** Generate again even when the databases match. */
  regenerate?: boolean;
  /** Copy the optimised database from the base again (after editing a migration). */
  recopy?: boolean;
  log?: (line: string) => void;
}

/** URL of database `name` on the server of `url`. */
export function databaseUrl(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The data a scale stands for (scale N = N×1,000 orders, as `deno task seed` counts). */
export function benchData(scale: number, seed: number, end: Date = new Date()): BenchData {
  const day = new Date(end.toISOString().slice(0, 10) + "T00:00:00Z");
  return {
    scale,
    seed,
    end: day.toISOString(),
    days: 365,
    orders: scale * 1000,
    products: Math.max(50, scale * 100),
    categories: Math.max(12, scale),
    customers: Math.max(20, scale * 100),
  };
}

/**
 * Creates (or reuses) both databases and returns their URLs.
 *
 * @example
 * ```ts
 * const dbs = await ensureBenchDatabases(url, { scale: 1000, seed: 42, log: console.log });
 * ```
 */
export async function ensureBenchDatabases(
  serverUrl: string,
  { scale, seed, regenerate = false, recopy = false, log = () => {} }: EnsureOptions,
): Promise<BenchDatabases> {
  const baseUrl = databaseUrl(serverUrl, BASE_DB);
  const optUrl = databaseUrl(serverUrl, OPT_DB);
  const admin = postgresRunner(serverUrl);
  let generated = false;
  let data: BenchData;
  try {
    const existing = regenerate ? null : await readData(admin, baseUrl);
    const wanted = benchData(scale, seed);
    const fresh = existing !== null && existing.scale === scale && existing.seed === seed &&
      Date.parse(existing.end) >= Date.parse(wanted.end) - 86_400_000;
    if (fresh) {
      data = existing!;
      log(`reusing ${BASE_DB} (${data.orders.toLocaleString("en-US")} orders up to ${data.end})`);
    } else {
      data = wanted;
      await admin.exec(`drop database if exists ${OPT_DB} with (force)`);
      await admin.exec(`drop database if exists ${BASE_DB} with (force)`);
      await admin.exec(`create database ${BASE_DB}`);
      await buildBase(baseUrl, data, log);
      generated = true;
    }

    const optData = generated || regenerate || recopy ? null : await readData(admin, optUrl);
    if (optData === null || !sameData(optData, data)) {
      await admin.exec(`drop database if exists ${OPT_DB} with (force)`);
      log(`copying ${BASE_DB} to ${OPT_DB}`);
      // FILE_COPY: a plain copy of the files instead of writing a gigabyte of WAL.
      await admin.exec(
        `create database ${OPT_DB} template ${BASE_DB} strategy file_copy`,
      );
    }
  } finally {
    await admin.close();
  }

  const migrations: { file: string; ms: number }[] = [];
  const opt = postgresRunner(optUrl);
  try {
    await migrate(opt, {
      log: (line) => {
        log(`  ${OPT_DB}: ${line}`);
        const m = /^applied (\S+) \((\d+) ms\)$/.exec(line);
        if (m) migrations.push({ file: m[1], ms: Number(m[2]) });
      },
    });
    await opt.exec(
      "create table if not exists bench.migration_runs (file text primary key, ms integer not null)",
    );
    for (const m of migrations) {
      await opt.query(
        "insert into bench.migration_runs values ($1, $2) " +
          "on conflict (file) do update set ms = excluded.ms",
        [m.file, m.ms],
      );
    }
    if (migrations.length > 0) {
      log(`vacuum analyze ${OPT_DB}`);
      await opt.exec("vacuum (analyze)");
    }
    // Also those applied by an earlier run that built this copy.
    const recorded = await opt.query<{ file: string; ms: number }>(
      "select file, ms from bench.migration_runs order by file",
    );
    return { baseUrl, optUrl, data, migrations: recorded, generated };
  } finally {
    await opt.close();
  }
}

function sameData(a: BenchData, b: BenchData): boolean {
  return a.scale === b.scale && a.seed === b.seed && a.end === b.end && a.orders === b.orders;
}

/** The generation record of a database, or null when it does not exist or has none. */
async function readData(admin: SqlRunner, url: string): Promise<BenchData | null> {
  const name = new URL(url).pathname.slice(1);
  const [row] = await admin.query<{ present: boolean }>(
    "select exists (select 1 from pg_database where datname = $1) as present",
    [name],
  );
  if (!row.present) return null;
  const db = postgresRunner(url);
  try {
    const rows = await db.query<{ data: BenchData }>(
      "select data from bench.generated where id",
    ).catch(() => []);
    return rows[0]?.data ?? null;
  } finally {
    await db.close();
  }
}

/** Base migrations, demo data in chunks, statistics, and the generation record. */
async function buildBase(url: string, data: BenchData, log: (line: string) => void) {
  const db = postgresRunner(url);
  const dir = await Deno.makeTempDir({ prefix: "comptoir-base-migrations-" });
  try {
    await applyCompatTo(db);
    for (const m of await readMigrations(MIGRATIONS_DIR)) {
      if (m.version <= BASE_LAST_VERSION) await Deno.writeTextFile(`${dir}/${m.file}`, m.text);
    }
    await migrate(db, { dir: new URL(`file://${dir}/`), log: (l) => log(`  ${BASE_DB}: ${l}`) });

    log(
      `generating ${data.orders.toLocaleString("en-US")} orders, ${
        data.products.toLocaleString("en-US")
      } products, ${data.categories} categories (seed ${data.seed})`,
    );
    const started = performance.now();
    await db.query("select demo.generate_catalog($1, $2, $3, $4, $5::timestamptz, $6)", [
      data.seed,
      data.categories,
      data.products,
      data.customers,
      data.end,
      data.days,
    ]);
    const chunk = 50_000;
    for (let first = 1; first <= data.orders; first += chunk) {
      const count = Math.min(chunk, data.orders - first + 1);
      // p_total: order ids follow placed_at, as an identity column numbers real orders.
      await db.query("select demo.generate_orders($1, $2, $3, $4::timestamptz, $5, $6)", [
        data.seed,
        first,
        count,
        data.end,
        data.days,
        data.orders,
      ]);
      if ((first - 1) % (chunk * 4) === 0 || first + count > data.orders) {
        log(
          `  ${(first + count - 1).toLocaleString("en-US")} orders (${
            ((performance.now() - started) / 1000).toFixed(0)
          } s)`,
        );
      }
    }
    await db.query("select demo.finish()");
    log("vacuum analyze");
    await db.exec("vacuum (analyze)");

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await installHarness(sql);
      await sql.unsafe(`
        create table if not exists bench.generated (id boolean primary key default true, data jsonb not null);
        insert into bench.generated (data) values ('${JSON.stringify(data)}')
        on conflict (id) do update set data = excluded.data`);
    } finally {
      await sql.end({ timeout: 5 });
    }
    const [{ orders }] = await db.query<{ orders: string }>(
      "select count(*)::text as orders from public.orders",
    );
    if (Number(orders) !== data.orders) {
      throw new StackError(`expected ${data.orders} orders in ${BASE_DB}, found ${orders}`);
    }
  } finally {
    await db.close();
    await Deno.remove(dir, { recursive: true });
  }
}
