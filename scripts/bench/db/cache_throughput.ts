/**
 * Cache throughput with N concurrent clients, measured by pgbench (simple query protocol, one
 * statement per transaction, like the API behind the transaction pooler): `private.cache_get` /
 * `private.cache_set` against the same reads and upserts on a plain logged key/value table with the
 * same keys and values.
 * @module
 */
import { PG_BIN } from "../../lib/pg_cluster.ts";
import { run, StackError } from "../../lib/command.ts";
import type postgres from "postgres";

/** Keys the clients draw from, uniformly. */
export const CACHE_KEYS = 10_000;

const VALUE =
  `{"sku": "LAM-000001", "on_hand": 120, "reserved": 3, "available": 117, "note": "a typical small cached document"}`;

/** One pgbench run. */
export interface ThroughputResult {
  store: "cache (UNLOGGED)" | "plain logged table";
  operation: "get" | "set";
  clients: number;
  tps: number;
  latencyMs: number;
}

/** Creates the plain table and fills it and the cache with the same keys and values. */
export async function prepareStores(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create table if not exists bench.plain_kv (key text primary key, value jsonb not null);
    truncate bench.plain_kv;
    insert into bench.plain_kv
      select 'bench:' || n, '${VALUE}'::jsonb from generate_series(1, ${CACHE_KEYS}) n;
    delete from private.cache_entries where key like 'bench:%';
    select private.cache_set('bench:' || n, '${VALUE}'::jsonb, 3600)
      from generate_series(1, ${CACHE_KEYS}) n;
  `);
  // VACUUM cannot share a (multi-statement, hence implicit) transaction.
  await sql.unsafe("vacuum analyze bench.plain_kv");
  await sql.unsafe("vacuum analyze private.cache_entries");
}

const SCRIPTS: Record<string, string> = {
  "cache (UNLOGGED):get":
    `\\set k random(1, ${CACHE_KEYS})\nselect private.cache_get('bench:' || :k);\n`,
  "cache (UNLOGGED):set":
    `\\set k random(1, ${CACHE_KEYS})\nselect private.cache_set('bench:' || :k, '${VALUE}'::jsonb, 3600);\n`,
  "plain logged table:get":
    `\\set k random(1, ${CACHE_KEYS})\nselect value from bench.plain_kv where key = 'bench:' || :k;\n`,
  "plain logged table:set":
    `\\set k random(1, ${CACHE_KEYS})\ninsert into bench.plain_kv (key, value) values ('bench:' || :k, '${VALUE}'::jsonb) on conflict (key) do update set value = excluded.value;\n`,
};

/**
 * Runs pgbench for each store, operation and client count, `seconds` each; reads and writes
 * alternate between the stores so drift of the machine hits both.
 */
export async function measureThroughput(
  url: string,
  clientCounts: number[],
  seconds: number,
  log: (line: string) => void = () => {},
): Promise<ThroughputResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "comptoir-pgbench-" });
  const results: ThroughputResult[] = [];
  try {
    for (const [name, text] of Object.entries(SCRIPTS)) {
      await Deno.writeTextFile(`${dir}/${name.replace(/[^a-z]+/gi, "_")}.sql`, text);
    }
    for (const operation of ["get", "set"] as const) {
      for (const clients of clientCounts) {
        for (const store of ["cache (UNLOGGED)", "plain logged table"] as const) {
          const file = `${dir}/${`${store}:${operation}`.replace(/[^a-z]+/gi, "_")}.sql`;
          const { code, stdout, stderr } = await run(`${PG_BIN}/pgbench`, [
            "-n",
            "-c",
            String(clients),
            "-j",
            String(Math.min(clients, 2)),
            "-T",
            String(seconds),
            "-f",
            file,
            url,
          ], { check: false });
          const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
          const latency = /latency average = ([\d.]+) ms/.exec(stdout);
          if (code !== 0 || !tps) {
            throw new StackError(`pgbench failed (${store} ${operation}): ${stderr || stdout}`);
          }
          const result: ThroughputResult = {
            store,
            operation,
            clients,
            tps: Number(tps[1]),
            latencyMs: latency ? Number(latency[1]) : NaN,
          };
          log(
            `  ${operation} ${store.padEnd(18)} ${String(clients).padStart(3)} clients: ${
              Math.round(result.tps).toLocaleString("en-US")
            } ops/s`,
          );
          results.push(result);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return results;
}
