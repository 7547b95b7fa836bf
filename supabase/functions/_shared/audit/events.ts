/**
 * The application events of the audit trail, one typed constructor per common action, so every
 * caller names an action the same way and gives the same details. Each returns an
 * {@linkcode AuditEvent} for `logEvent()` / `recordEvent()` (log_event.ts), which write it with
 * `audit.log_event()` in the database; who and through which request come from the transaction.
 * @module
 */

/** Actions this library knows; `audit.log_event()` accepts any dotted lowercase name. */
export type AuditAction =
  | "dashboard.read"
  | "audit.read"
  | "export.created"
  | "silence.created"
  | "dead_letter.retried"
  | "authorization.refused";

/** One application event. */
export interface AuditEvent {
  action: AuditAction;
  /** What the action was about (a report, an order, a silence id), at most 500 characters. */
  target: string;
  /** Details as a JSON object, at most 8 KiB. */
  details: Record<string, unknown>;
}

/**
 * An admin (or the service role) read a dashboard report.
 *
 * @example
 * ```ts
 * dashboardRead("sales", { days: 30 });
 * ```
 */
export function dashboardRead(report: string, params: Record<string, unknown>): AuditEvent {
  return { action: "dashboard.read", target: report, details: { params } };
}

/**
 * Someone read the audit trail (GET /admin/audit), with the filters used.
 *
 * @example
 * ```ts
 * auditRead({ table: "public.products" });
 * ```
 */
export function auditRead(filters: Record<string, unknown>): AuditEvent {
  return { action: "audit.read", target: "audit.record_version", details: { filters } };
}

/**
 * A data export was produced.
 *
 * @example
 * ```ts
 * exportCreated({ resource: "orders", format: "csv", filters: { status: "paid" }, rows: 1200 });
 * ```
 */
export function exportCreated(
  { resource, format, filters = {}, rows }: {
    resource: string;
    format: "csv" | "json" | "jsonl";
    filters?: Record<string, unknown>;
    rows?: number;
  },
): AuditEvent {
  return {
    action: "export.created",
    target: resource,
    details: { format, filters, ...(rows === undefined ? {} : { rows }) },
  };
}

/**
 * An alert silence was created.
 *
 * @example
 * ```ts
 * silenceCreated({ id: "3f2c...", matchers: { alertname: "HighErrorRate" }, endsAt, comment });
 * ```
 */
export function silenceCreated(
  { id, matchers, endsAt, comment = "" }: {
    id: string;
    matchers: Record<string, string>;
    endsAt: Date;
    comment?: string;
  },
): AuditEvent {
  return {
    action: "silence.created",
    target: id,
    details: { matchers, ends_at: endsAt.toISOString(), comment: comment.slice(0, 500) },
  };
}

/**
 * A dead-lettered notification was sent again.
 *
 * @example
 * ```ts
 * deadLetterRetried({ id: 42, channel: "slack", attempts: 5 });
 * ```
 */
export function deadLetterRetried(
  { id, channel, attempts }: { id: number | string; channel: string; attempts: number },
): AuditEvent {
  return { action: "dead_letter.retried", target: String(id), details: { channel, attempts } };
}

/**
 * A caller was refused a route for want of a role (401 anonymous, 403 otherwise).
 *
 * @example
 * ```ts
 * authorizationRefused({ method: "GET", route: "/api/v2/admin/audit", required: ["admin"] });
 * ```
 */
export function authorizationRefused(
  { method, route, required }: { method: string; route: string; required: readonly string[] },
): AuditEvent {
  return {
    action: "authorization.refused",
    target: `${method} ${route}`.slice(0, 500),
    details: { required: [...required] },
  };
}
