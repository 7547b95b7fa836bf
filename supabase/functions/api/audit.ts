/**
 * The audit trail through the API: the admins' search over every entry (GET /admin/audit) and the
 * history of one order for its owner (GET /orders/:id/history). Both read `audit.record_version`
 * as the caller, so RLS decides what is visible; a read of the whole trail is itself recorded as
 * an `audit.read` event, in the same transaction. Refused callers are recorded too
 * ({@linkcode auditRefusal}).
 * @module
 */
import type { Context } from "hono";
import type postgres from "postgres";
import type { Sql } from "../_shared/db/client.ts";
import { getDb } from "../_shared/db/client.ts";
import { becomeCaller, identifyCaller } from "../_shared/db/as_caller.ts";
import type { Caller, CallerRole } from "../_shared/auth/caller.ts";
import { auditRead, authorizationRefused } from "../_shared/audit/events.ts";
import { logEvent, recordEvent } from "../_shared/audit/log_event.ts";
import { edgeWaitUntil } from "../_shared/runtime/wait_until.ts";

type Row = Record<string, unknown>;

/** Filters of the admin search, as validated by `auditQuery`. */
export interface AuditFilters {
  table?: string;
  record?: string;
  actor?: string;
  action?: string;
  from?: string;
  to?: string;
  limit: number;
  cursor?: Record<string, unknown>;
}

const OPS: Record<string, string> = {
  insert: "INSERT",
  update: "UPDATE",
  delete: "DELETE",
  truncate: "TRUNCATE",
  event: "EVENT",
};

const columns = (tx: postgres.TransactionSql) =>
  tx`id, to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as ts, op,
    case when table_name is not null then table_schema || '.' || table_name end as "table",
    record_id, old_record_id, record, old_record, action, target, details,
    auth_uid, auth_role, db_role, request_id`;

/** A keyset position `{ ts, id }` from a cursor, or nulls when there is none or it is not ours. */
function position(cursor: Record<string, unknown> | undefined) {
  const ts = typeof cursor?.ts === "string" ? cursor.ts : null;
  const id = typeof cursor?.id === "number" ? cursor.id : null;
  return ts !== null && id !== null ? { ts, id } : { ts: null, id: null };
}

/** Entries matching `filters`, newest first; records the read as an `audit.read` event. */
export async function searchAudit(
  sql: Sql,
  caller: Caller,
  filters: AuditFilters,
) {
  const [schema, table] = filters.table === undefined
    ? [null, null]
    : filters.table.includes(".")
    ? filters.table.split(".")
    : ["public", filters.table];
  const op = filters.action === undefined ? null : OPS[filters.action] ?? "EVENT";
  const action = filters.action !== undefined && !(filters.action in OPS) ? filters.action : null;
  const after = position(filters.cursor);
  const rows = await sql.begin(async (tx) => {
    await identifyCaller(tx, caller);
    await logEvent(tx, auditRead(recordedFilters(filters)));
    await becomeCaller(tx, caller);
    return await tx<Row[]>`
      select ${columns(tx)}
      from audit.record_version
      where (${schema}::text is null or table_schema = ${schema})
        and (${table}::text is null or table_name = ${table})
        and (${filters.record ?? null}::uuid is null
          or coalesce(record_id, old_record_id) = ${filters.record ?? null}::uuid)
        and (${filters.actor ?? null}::uuid is null or auth_uid = ${filters.actor ?? null}::uuid)
        and (${op}::text is null or op = ${op})
        and (${action}::text is null or action = ${action})
        and ts >= coalesce(${filters.from ?? null}::timestamptz, '-infinity')
        and ts < coalesce(${filters.to ?? null}::timestamptz, 'infinity')
        and (${after.ts}::timestamptz is null or (ts, id) < (${after.ts}::timestamptz, ${after.id}))
      order by audit.record_version.ts desc, id desc
      limit ${filters.limit + 1}`;
  });
  return pageOf(rows, filters.limit);
}

/** The history of order `orderId` (its row and its lines), oldest first; null when not visible. */
export async function orderHistory(
  sql: Sql,
  caller: Caller,
  orderId: number,
  { limit, cursor }: { limit: number; cursor?: Record<string, unknown> },
) {
  const after = position(cursor);
  return await sql.begin(async (tx) => {
    await becomeCaller(tx, caller);
    const [order] = await tx`select 1 from public.orders where id = ${orderId}`;
    if (!order) return null;
    const rows = await tx<Row[]>`
      select ${columns(tx)}
      from audit.record_version
      where (
          coalesce(record_id, old_record_id)
            = audit.record_id('public.orders', jsonb_build_array(${orderId}::bigint))
          or (table_name = 'order_items'
            and coalesce(record, old_record) ->> 'order_id' = ${String(orderId)})
        )
        and (${after.ts}::timestamptz is null or (ts, id) > (${after.ts}::timestamptz, ${after.id}))
      order by audit.record_version.ts, id
      limit ${limit + 1}`;
    return pageOf(rows, limit);
  });
}

function pageOf(rows: Row[], limit: number) {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    rows: pageRows.map(entry),
    next: more ? { ts: last.ts as string, id: Number(last.id) } : undefined,
  };
}

/** An audit row as the API shows it. */
function entry(row: Row): Row {
  return {
    id: Number(row.id),
    ts: row.ts,
    op: row.op,
    table: row.table ?? null,
    record_id: row.record_id ?? null,
    old_record_id: row.old_record_id ?? null,
    record: row.record ?? null,
    old_record: row.old_record ?? null,
    action: row.action ?? null,
    target: row.target ?? null,
    details: row.details ?? null,
    actor: {
      uid: row.auth_uid ?? null,
      role: row.auth_role ?? null,
      db_role: row.db_role,
    },
    request_id: row.request_id ?? null,
  };
}

/** The filters worth keeping in the `audit.read` event (not the page size or cursor). */
function recordedFilters(
  { limit: _limit, cursor: _cursor, ...rest }: AuditFilters,
): Row {
  return Object.fromEntries(
    Object.entries(rest).filter(([, v]) => v !== undefined),
  );
}

/**
 * `onRefused` of the API's routes: records an `authorization.refused` event for the refused
 * caller, after the response (EdgeRuntime.waitUntil where it exists); a failure is only logged.
 */
export function auditRefusal(
  c: Context,
  caller: Caller,
  roles: readonly CallerRole[],
): void {
  const event = authorizationRefused({
    method: c.req.method,
    route: c.req.routePath,
    required: roles,
  });
  const written = recordEvent(getDb(), caller, event);
  edgeWaitUntil()?.(written);
}
