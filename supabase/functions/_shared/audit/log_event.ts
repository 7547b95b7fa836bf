/**
 * Writes application events to the audit trail through `audit.log_event()`. {@linkcode logEvent}
 * writes inside the transaction of the action, so the action and its record commit or roll back
 * together; {@linkcode recordEvent} opens a transaction of its own for events without one (a
 * refused request) and never throws: losing such a record must not fail the response.
 * @module
 */
import type postgres from "postgres";
import type { Caller } from "../auth/caller.ts";
import { identifyCaller } from "../db/as_caller.ts";
import { text } from "../db/params.ts";
import type { AuditEvent } from "./events.ts";

/**
 * Records `event` in the open transaction `tx`, for the caller the transaction was identified
 * with (`identifyCaller` / `becomeCaller` of db/as_caller.ts); must run as a role that may
 * execute `audit.log_event` (the connection's own role or service_role). Returns the row id.
 *
 * @example
 * ```ts
 * await sql.begin(async (tx) => {
 *   await identifyCaller(tx, caller);
 *   await logEvent(tx, dashboardRead("sales", { days }));
 *   await becomeCaller(tx, caller);
 *   return await tx`select public.sales_dashboard(${days}) as doc`;
 * });
 * ```
 */
export async function logEvent(tx: postgres.TransactionSql, event: AuditEvent): Promise<number> {
  const [{ id }] = await logEventStatement(tx as unknown as postgres.Sql, event);
  return Number(id);
}

/**
 * The statement that records `event`, to send in one `sql.batch` with the action it audits (one
 * round trip, one implicit transaction), after {@linkcode callerSettings}`(…, { asRole: false })`.
 *
 * @example
 * ```ts
 * await sql.batch([
 *   callerSettings(sql, caller, { asRole: false }),
 *   logEventStatement(sql, dashboardRead("sales", { days })),
 *   callerSettings(sql, caller),
 *   sql`select public.sales_dashboard(${days}) as doc`,
 * ]);
 * ```
 */
export function logEventStatement(
  sql: postgres.Sql,
  event: AuditEvent,
): postgres.PendingQuery<{ id: string }[]> {
  return sql<{ id: string }[]>`
    select audit.log_event(${text(sql, event.action)}, ${text(sql, event.target)},
      ${sql.json(event.details as never)}) as id`;
}

/** Options of {@linkcode recordEvent}. */
export interface RecordEventOptions {
  /** Receives the failure when the record could not be written. */
  log?: (record: Record<string, unknown>) => void;
}

/**
 * Records `event` for `caller` in a transaction of its own; resolves `false` instead of throwing
 * when the database refuses or is down (the failure is logged, without the event's details).
 *
 * @example
 * ```ts
 * edgeWaitUntil()?.(recordEvent(getDb(), caller, authorizationRefused({ method, route, required })));
 * ```
 */
export async function recordEvent(
  sql: postgres.Sql,
  caller: Pick<Caller, "claims" | "requestId">,
  event: AuditEvent,
  { log = (r) => console.warn(JSON.stringify(r)) }: RecordEventOptions = {},
): Promise<boolean> {
  try {
    await sql.begin(async (tx) => {
      await identifyCaller(tx, caller);
      await logEvent(tx, event);
    });
    return true;
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    log({
      level: "warn",
      msg: "audit event not recorded",
      action: event.action,
      error: typeof code === "string" ? code : String((error as Error)?.message ?? error),
    });
    return false;
  }
}
