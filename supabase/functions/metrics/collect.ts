/**
 * What one scrape of the `metrics` function gathers: this isolate's own buffer (flushed first),
 * the aggregate of every isolate from the shared store, the gauges the database computes at scrape
 * time (`metrics.scrape()`: low stock, view staleness and refresh intervals, the shared cache tier,
 * pg_cron run totals; `notify.scrape()`: the notifications outbox) and `comptoir_db_up` from a `select 1` that must answer within 2 s.
 *
 * When the database does not answer, only `comptoir_db_up 0` and `comptoir_build_info` are
 * rendered: counters are left out rather than shown as 0, which Prometheus would take for a reset.
 * @module
 */
import type { Sql } from "../_shared/db/client.ts";
import type { ExpositionSample } from "../_shared/metrics/exposition.ts";
import { FAMILIES } from "../_shared/metrics/families.ts";
import type { MetricsFlusher } from "../_shared/metrics/flusher.ts";
import type { MetricsRegistry } from "../_shared/metrics/registry.ts";
import type { MetricsStore } from "../_shared/metrics/store.ts";
import { VERSION } from "../_shared/version.ts";

/** How long `select 1` may take before the database counts as down (contract: 2 s). */
export const DB_UP_TIMEOUT_MS = 2_000;

/** Budget of each later step, so that a scrape stays well under Prometheus' 10 s timeout. */
export const STEP_TIMEOUT_MS = 2_000;

/** What {@linkcode collectScrape} needs. */
export interface ScrapeSources {
  /** The isolate's database client. */
  sql: () => Sql;
  store: MetricsStore;
  /** This isolate's flusher, flushed before reading so its own requests are included. */
  flusher?: MetricsFlusher;
  /** Renders bounded label pairs (the isolate registry's `seriesKey`). */
  registry: MetricsRegistry;
  /** Receives one record per failed step. */
  log?: (record: Record<string, unknown>) => void;
}

/** The samples of one scrape and whether the database answered. */
export interface Scrape {
  samples: ExpositionSample[];
  dbUp: boolean;
}

interface GaugeRow {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Collects one scrape; never throws.
 *
 * @example
 * ```ts
 * const { samples } = await collectScrape({ sql: getDb, store, flusher, registry });
 * ```
 */
export async function collectScrape(
  { sql, store, flusher, registry, log = (r) => console.warn(JSON.stringify(r)) }: ScrapeSources,
): Promise<Scrape> {
  const samples: ExpositionSample[] = [buildInfo(registry)];
  const flushed = flusher ? withTimeout(flusher.flush(), STEP_TIMEOUT_MS).catch(() => {}) : null;

  const dbUp = await withTimeout(sql()`select 1`.execute(), DB_UP_TIMEOUT_MS).then(
    () => true,
    (error) => {
      log({
        level: "warn",
        msg: "metrics scrape: database did not answer",
        error: describe(error),
      });
      return false;
    },
  );
  samples.push({ name: "comptoir_db_up", labels: "", le: "", value: dbUp ? 1 : 0 });
  if (!dbUp) return { samples, dbUp };

  try {
    const rows = await withTimeout(
      sql()<GaugeRow[]>`
        select name, labels, value from metrics.scrape()
        union all
        select name, labels, value from notify.scrape()`,
      STEP_TIMEOUT_MS,
    );
    for (const row of rows) {
      const labels = registry.seriesKey(row.name, row.labels ?? {});
      if (labels !== undefined) {
        samples.push({ name: row.name, labels, le: "", value: Number(row.value) });
      }
    }
  } catch (error) {
    log({ level: "warn", msg: "metrics scrape: database gauges failed", error: describe(error) });
  }

  await flushed;
  try {
    const stored = await withTimeout(store.read(), STEP_TIMEOUT_MS);
    const present = new Set<string>();
    for (const s of stored) {
      samples.push({ name: s.name, labels: s.labels, le: s.le, value: s.value });
      present.add(s.name);
    }
    for (const family of FAMILIES) {
      if (
        family.alwaysPresent && family.aggregation !== "scrape" && !present.has(family.name)
      ) {
        samples.push({ name: family.name, labels: "", le: "", value: 0 });
      }
    }
  } catch (error) {
    log({ level: "warn", msg: "metrics scrape: store read failed", error: describe(error) });
  }
  return { samples, dbUp };
}

function buildInfo(registry: MetricsRegistry): ExpositionSample {
  const labels = registry.seriesKey("comptoir_build_info", {
    version: Deno.env.get("COMPTOIR_VERSION") || VERSION,
    commit: Deno.env.get("COMPTOIR_COMMIT") || "unknown",
    deno_version: Deno.version.deno,
  })!;
  return { name: "comptoir_build_info", labels, le: "", value: 1 };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A cause safe to log: a SQLSTATE or a connection error code, never a URL. */
function describe(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  return error instanceof Error ? error.message.slice(0, 200) : String(error);
}
