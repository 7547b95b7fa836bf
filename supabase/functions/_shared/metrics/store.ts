/**
 * The shared store of the metrics: the UNLOGGED table `metrics.samples`, written by one call of
 * `metrics.flush(isolate, samples)` per batch (one statement, atomic: every increment of the batch
 * lands or none does) and read back aggregated by `metrics.read_samples()`. Migration
 * 20261126140000_create_metrics_store.sql defines both; docs/reference/monitoring.md says why
 * Postgres rather than Redis.
 * @module
 */
import type { Sql } from "../db/client.ts";
import type { BatchSample, SampleKind } from "./registry.ts";

/** A sample as stored and aggregated over isolates. */
export interface StoredSample {
  name: string;
  labels: string;
  le: string;
  kind: SampleKind;
  value: number;
}

/** Where batches go and aggregates come from. */
export interface MetricsStore {
  /** Writes one batch of `isolate` atomically; rejects when the store cannot take it. */
  write(isolate: string, batch: readonly BatchSample[]): Promise<void>;
  /** Every stored sample, per-isolate gauges summed over isolates that wrote in the last 60 s. */
  read(): Promise<StoredSample[]>;
}

/**
 * The Postgres store over a postgres.js client (the pooler-ready one of `db/client.ts`).
 *
 * @example
 * ```ts
 * const store = new PostgresMetricsStore(() => getDb());
 * await store.write("isolate-1", registry.drain());
 * const samples = await store.read();
 * ```
 */
export class PostgresMetricsStore implements MetricsStore {
  readonly #sql: () => Sql;

  /** `sql` is called per operation, so the client is only created once something is written. */
  constructor(sql: () => Sql) {
    this.#sql = sql;
  }

  async write(isolate: string, batch: readonly BatchSample[]): Promise<void> {
    if (batch.length === 0) return;
    const rows = batch.map((s) => [s.name, s.labels, s.le, s.kind, s.value]);
    const sql = this.#sql();
    await sql`select metrics.flush(${isolate}, ${sql.json(rows)})`.execute();
  }

  async read(): Promise<StoredSample[]> {
    const rows = await this.#sql()<StoredSample[]>`
      select name, labels, le, kind, value from metrics.read_samples()
    `;
    return rows.map((r) => ({ ...r, value: Number(r.value) }));
  }
}
