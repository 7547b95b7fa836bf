/**
 * Alertmanager's webhook (`webhook_configs`, payload version 4, as sent by
 * prometheus/alertmanager `notify/webhook`): its zod schema, and {@linkcode ingestAlertmanager},
 * which merges the alerts into `alerting.alerts` by fingerprint, so an alert that a SQL rule also
 * raises stays one alert; the next evaluation notifies them through the same groups, silences and
 * inhibition. Alertmanager resends a group at its own repeat interval: a report of an alert already
 * firing changes nothing and counts as deduplicated.
 * @module
 */
import type postgres from "postgres";
import { z } from "zod";
import type { Sql } from "../_shared/db/client.ts";
import { fingerprint } from "./fingerprint.ts";

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
const labelSet = z.record(labelName, z.string().max(2048));
/** Alertmanager's zero time for "no end" (Go's time.Time{}). */
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

const alertSchema = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: labelSet.refine((l) => typeof l.alertname === "string" && l.alertname.length > 0, {
    message: "an alert needs an alertname label",
  }),
  annotations: labelSet.default({}),
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.union([z.iso.datetime({ offset: true }), z.literal(GO_ZERO_TIME)]).optional(),
  generatorURL: z.string().max(2048).optional(),
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/).optional(),
});

/** The webhook body, version 4. Unknown members are allowed: Alertmanager may add some. */
export const alertmanagerPayload = z.object({
  version: z.literal("4"),
  groupKey: z.string().max(4096),
  truncatedAlerts: z.number().int().nonnegative().default(0),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string().max(512),
  groupLabels: labelSet,
  commonLabels: labelSet,
  commonAnnotations: labelSet,
  externalURL: z.string().max(2048),
  alerts: z.array(alertSchema).max(1000),
});

/** A parsed webhook body. */
export type AlertmanagerPayload = z.output<typeof alertmanagerPayload>;

/** What one webhook call changed. */
export interface IngestOutcome {
  received: number;
  /** Alerts new or changed (firing now, or resolved). */
  changed: number;
  /** Reports of alerts already known in that state (Alertmanager resends, or the same alert from a rule). */
  deduplicated: number;
}

/**
 * Merges the payload's alerts into the alert table in one transaction.
 *
 * @example
 * ```ts
 * const outcome = await ingestAlertmanager(getDb(), alertmanagerPayload.parse(body));
 * ```
 */
export async function ingestAlertmanager(
  sql: Sql,
  payload: AlertmanagerPayload,
): Promise<IngestOutcome> {
  return await sql.begin(async (tx) => {
    let changed = 0;
    let deduplicated = 0;
    for (const alert of payload.alerts) {
      // Alertmanager's own fingerprint is this same hash of the labels; recomputing it keeps a
      // caller from naming another alert's row.
      const fp = fingerprint(alert.labels);
      const outcome = await merge(tx, fp, alert);
      if (outcome === "changed") changed++;
      else deduplicated++;
    }
    return { received: payload.alerts.length, changed, deduplicated };
  });
}

async function merge(
  tx: postgres.TransactionSql,
  fp: string,
  alert: z.output<typeof alertSchema>,
): Promise<"changed" | "same"> {
  const [known] = await tx<{ status: string; sources: string[] }[]>`
    select status, sources from alerting.alerts where fingerprint = ${fp} for update`;
  const history = (from: string, to: string) =>
    tx`
      insert into alerting.history (at, fingerprint, alertname, labels, from_state, to_state, source)
      values (now(), ${fp}, ${alert.labels.alertname}, ${tx.json(alert.labels)}, ${from}, ${to},
        'alertmanager')`;
  if (alert.status === "firing") {
    if (known?.status === "firing" && known.sources.includes("alertmanager")) return "same";
    await tx`
      insert into alerting.alerts as a (fingerprint, alertname, labels, annotations, status,
        starts_at, ends_at, sources, generator_url)
      values (${fp}, ${alert.labels.alertname}, ${tx.json(alert.labels)},
        ${tx.json(alert.annotations)}, 'firing', ${alert.startsAt}, null, ${["alertmanager"]},
        ${alert.generatorURL ?? null})
      on conflict (fingerprint) do update set
        status = 'firing', ends_at = null,
        starts_at = case when a.status = 'firing' then a.starts_at else excluded.starts_at end,
        sources = case when 'alertmanager' = any(a.sources) then a.sources
          else a.sources || array['alertmanager'] end,
        generator_url = excluded.generator_url, updated_at = now()`;
    if (known?.status === "firing") return "same";
    await history(known ? known.status : "inactive", "firing");
    return "changed";
  }
  if (!known || known.status === "resolved" || !known.sources.includes("alertmanager")) {
    return "same";
  }
  if (known.sources.length > 1) {
    // The rule still reports it firing: it stays firing, from the rule alone.
    await tx`
      update alerting.alerts set sources = array_remove(sources, 'alertmanager'), updated_at = now()
      where fingerprint = ${fp}`;
    return "same";
  }
  const endsAt = alert.endsAt && alert.endsAt !== GO_ZERO_TIME
    ? alert.endsAt
    : new Date().toISOString();
  await tx`
    update alerting.alerts set status = 'resolved', ends_at = greatest(${endsAt}::timestamptz, starts_at),
      updated_at = now()
    where fingerprint = ${fp}`;
  await history("firing", "resolved");
  return "changed";
}
