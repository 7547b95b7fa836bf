/**
 * Reads a rule's signal at an instant: a SQL query over the shop's own data (inside the
 * evaluation's transaction, under a savepoint so a failing query costs only its rule), or a PromQL
 * instant query to the Prometheus at `COMPTOIR_PROMETHEUS_URL` (its HTTP API, `GET
 * /api/v1/query?query=…&time=…`), retried through the project's dependency retry.
 * @module
 */
import type postgres from "postgres";
import { retryDependency } from "../_shared/resilience/dependency_retry.ts";
import type { Labels } from "./fingerprint.ts";
import type { Signal } from "./rules.ts";

/** One series of a signal at one instant. */
export interface SignalRow {
  labels: Labels;
  value: number;
  /** With `denominator` columns: the rule sees value / denominator. */
  denominator: number | null;
}

/** Reads PromQL instant queries. */
export type PromQuery = (query: string, at: number) => Promise<SignalRow[]>;

/** A signal that could not be read; the rule is skipped for the instant (its state unchanged). */
export class SignalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SignalError";
  }
}

/** Longest time a SQL signal may run, in ms. */
export const SIGNAL_TIMEOUT_MS = 5_000;

/**
 * Reads `signal` at `at` (ms since the epoch).
 *
 * @example
 * ```ts
 * const rows = await readSignal(tx, { kind: "sql", sql: "select 1::float8 as value", increaseOverMs: null }, Date.now());
 * ```
 */
export async function readSignal(
  tx: postgres.TransactionSql,
  signal: Signal,
  at: number,
  prom?: PromQuery,
): Promise<SignalRow[]> {
  if (signal.kind === "promql") {
    if (!prom) throw new SignalError("no Prometheus configured (COMPTOIR_PROMETHEUS_URL)");
    return await prom(signal.promql, at);
  }
  let rows: Record<string, unknown>[];
  try {
    rows = await tx.savepoint(async (sp) => {
      await sp.unsafe(`set local statement_timeout = ${SIGNAL_TIMEOUT_MS}`);
      // A query that does not use the instant ($1) gets no parameter: Postgres could not type it.
      const params = /\$1(?![0-9])/.test(signal.sql) ? [new Date(at).toISOString()] : [];
      return await sp.unsafe(signal.sql, params) as Record<string, unknown>[];
    }) as Record<string, unknown>[];
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // The query's own failure costs only its rule; a lost connection (class 08, 57: shutdown,
    // terminated) ends the whole evaluation, whose transaction is gone anyway.
    if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code) || /^(08|57)/.test(code)) {
      throw error;
    }
    throw new SignalError(
      `the signal query failed${typeof code === "string" ? ` (SQLSTATE ${code})` : ""}`,
      { cause: error },
    );
  }
  return rows.map((row) => {
    const labels: Record<string, string> = {};
    for (const [key, value] of Object.entries(row)) {
      if (key === "value" || key === "denominator" || value === null) continue;
      labels[key] = String(value);
    }
    return {
      labels,
      value: toNumber(row.value),
      denominator: row.denominator === undefined ? null : toNumber(row.denominator),
    };
  });
}

function toNumber(value: unknown): number {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : NaN;
}

/**
 * A {@linkcode PromQuery} for the Prometheus at `baseUrl`.
 *
 * @example
 * ```ts
 * const prom = prometheusQuery("http://127.0.0.1:9090");
 * await prom("up", Date.now());
 * ```
 */
export function prometheusQuery(baseUrl: string, { timeoutMs = 3_000 } = {}): PromQuery {
  const base = baseUrl.replace(/\/+$/, "");
  return async function queryPrometheus(query, at) {
    const url = `${base}/api/v1/query?query=${encodeURIComponent(query)}&time=${at / 1000}`;
    let body: {
      status?: string;
      data?: { resultType?: string; result?: { metric: Labels; value: [number, string] }[] };
    };
    try {
      body = await retryDependency("prometheus", async () => {
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        if (res.status >= 500 || res.status === 429) throw res;
        return await res.json();
      }, { attempts: 2 });
    } catch (error) {
      throw new SignalError("Prometheus did not answer the query", { cause: error });
    }
    if (body.status !== "success" || body.data?.resultType !== "vector") {
      throw new SignalError("Prometheus answered an error or a non-vector result");
    }
    return (body.data.result ?? []).map(({ metric, value }) => {
      const { __name__: _, ...labels } = metric;
      return { labels, value: Number(value[1]), denominator: null };
    });
  };
}
