/**
 * Server-side timing of calls: each call runs inside `bench.time_call()` on the database, which
 * measures from just before the statement is planned to just after its result is rendered as text
 * (what sending it would cost), so network and client time are left out. Each call runs in its own
 * transaction under the role and JWT claims it names, as PostgREST and the API run them.
 * @module
 */
import type postgres from "postgres";
import type { Call } from "./workload.ts";

/** Percentiles and extremes of a set of durations, in milliseconds. */
export interface Stats {
  n: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50, p95, max and mean of `values`. */
export function summarize(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    mean: sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1),
  };
}

/** Creates the `bench` schema with the timing function (benchmark databases only). */
export async function installHarness(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create schema if not exists bench;
    create or replace function bench.time_call(p_sql text)
    returns double precision
    language plpgsql
    as $$
    declare
      v_started timestamptz;
      v_bytes bigint;
    begin
      v_started := clock_timestamp();
      execute 'select sum(octet_length(t::text))::bigint from (' || p_sql || ') t' into v_bytes;
      return extract(epoch from clock_timestamp() - v_started) * 1000;
    end
    $$;
    grant usage on schema bench to anon, authenticated, service_role;
    grant execute on function bench.time_call(text) to anon, authenticated, service_role;
  `);
}

/** Runs `call` once in its own transaction, under its role; returns the server-side ms. */
export async function timeCall(sql: postgres.Sql, call: Call): Promise<number> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', ${call.role}, true),
      set_config('request.jwt.claims', ${JSON.stringify(call.claims)}, true)`;
    const [{ ms }] = await tx<{ ms: number }[]>`select bench.time_call(${call.sql}) as ms`;
    return ms;
  }) as number;
}

/** Times every call in order; returns their durations. */
export async function timeCalls(sql: postgres.Sql, calls: Call[]): Promise<number[]> {
  const durations: number[] = [];
  for (const call of calls) durations.push(await timeCall(sql, call));
  return durations;
}

/** The result of `call` as JSON text, for comparing two databases. */
export async function resultOf(sql: postgres.Sql, call: Call): Promise<string> {
  return await sql.begin(async (tx) => {
    await tx`select set_config('role', ${call.role}, true),
      set_config('request.jwt.claims', ${JSON.stringify(call.claims)}, true)`;
    const [{ result }] = await tx.unsafe<{ result: string }[]>(
      `select coalesce(json_agg(t), '[]')::text as result from (${call.sql}) t`,
    );
    return result;
  }) as string;
}
