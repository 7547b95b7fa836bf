/**
 * Silences in the database: create, list, read, update and expire (Alertmanager's model: deleting a
 * silence expires it, its end moved to now, so the history of what was muted stays readable).
 * @module
 */
import type { Sql } from "../_shared/db/client.ts";
import { formatMatcher, type Matcher } from "./matchers.ts";

/** A silence as the API answers it. */
export interface SilenceRecord {
  id: string;
  matchers: Matcher[];
  /** The matchers in Alertmanager's syntax, e.g. `{alertname="OrderDrop"}`. */
  matchers_text: string;
  starts_at: string;
  ends_at: string;
  state: "pending" | "active" | "expired";
  created_by: string;
  comment: string;
  created_at: string;
  updated_at: string;
}

/** Which silences to list. */
export type SilenceFilter = "active" | "pending" | "expired" | "all";

interface Row {
  id: string;
  matchers: Matcher[];
  starts_at: Date;
  ends_at: Date;
  created_by: string;
  comment: string;
  created_at: Date;
  updated_at: Date;
  now: Date;
}

function present(row: Row): SilenceRecord {
  const now = row.now.getTime();
  return {
    id: row.id,
    matchers: row.matchers,
    matchers_text: `{${row.matchers.map(formatMatcher).join(", ")}}`,
    starts_at: row.starts_at.toISOString(),
    ends_at: row.ends_at.toISOString(),
    state: row.ends_at.getTime() <= now
      ? "expired"
      : row.starts_at.getTime() > now
      ? "pending"
      : "active",
    created_by: row.created_by,
    comment: row.comment,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** Creates a silence. */
export async function createSilence(
  sql: Sql,
  input: { matchers: Matcher[]; startsAt: Date; endsAt: Date; createdBy: string; comment: string },
): Promise<SilenceRecord> {
  const [row] = await sql<Row[]>`
    insert into alerting.silences (matchers, starts_at, ends_at, created_by, comment)
    values (${sql.json(input.matchers as never)}, ${input.startsAt}, ${input.endsAt},
      ${input.createdBy}, ${input.comment})
    returning *, now() as now`;
  return present(row);
}

/** Lists silences, newest first (at most 500). */
export async function listSilences(sql: Sql, filter: SilenceFilter): Promise<SilenceRecord[]> {
  const rows = await sql<Row[]>`
    select *, now() as now from alerting.silences
    where case ${filter}::text
      when 'active' then starts_at <= now() and ends_at > now()
      when 'pending' then starts_at > now()
      when 'expired' then ends_at <= now()
      else true end
    order by created_at desc, id limit 500`;
  return rows.map(present);
}

/** One silence, or undefined. */
export async function getSilence(sql: Sql, id: string): Promise<SilenceRecord | undefined> {
  const [row] = await sql<Row[]>`select *, now() as now from alerting.silences where id = ${id}`;
  return row ? present(row) : undefined;
}

/** Changes a silence that has not expired; undefined when there is none to change. */
export async function updateSilence(
  sql: Sql,
  id: string,
  change: { matchers?: Matcher[]; startsAt?: Date; endsAt?: Date; comment?: string },
): Promise<SilenceRecord | undefined> {
  const [row] = await sql<Row[]>`
    update alerting.silences set
      matchers = coalesce(${
    change.matchers ? sql.json(change.matchers as never) : null
  }::jsonb, matchers),
      starts_at = coalesce(${change.startsAt ?? null}::timestamptz, starts_at),
      ends_at = coalesce(${change.endsAt ?? null}::timestamptz, ends_at),
      comment = coalesce(${change.comment ?? null}::text, comment),
      updated_at = now()
    where id = ${id} and ends_at > now()
    returning *, now() as now`;
  return row ? present(row) : undefined;
}

/** Expires a silence now; undefined when it does not exist. */
export async function expireSilence(sql: Sql, id: string): Promise<SilenceRecord | undefined> {
  const [row] = await sql<Row[]>`
    update alerting.silences set
      starts_at = least(starts_at, now() - interval '1 millisecond'),
      ends_at = least(ends_at, now()),
      updated_at = now()
    where id = ${id}
    returning *, now() as now`;
  return row ? present(row) : undefined;
}
