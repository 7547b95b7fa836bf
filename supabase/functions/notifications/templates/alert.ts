/**
 * Alert group notifications (`alert.firing`, `alert.resolved`): one message per Alertmanager-style
 * group, as the alerting service publishes them.
 * @module
 */
import { z } from "zod";
import type { Locale } from "../model.ts";
import type { Field, NotificationDocument, Section, Severity, Template } from "./document.ts";
import { formatTime } from "./format.ts";

const labels = z.record(z.string(), z.string()).default({});

const alertSchema = z.object({
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/, "16 hex digits"),
  status: z.enum(["firing", "resolved"]),
  labels,
  annotations: z.object({
    summary: z.string().max(2000).optional(),
    description: z.string().max(10000).optional(),
    runbook_url: z.url().optional(),
  }).catchall(z.string()).default({}),
  starts_at: z.iso.datetime({ offset: true }),
  ends_at: z.iso.datetime({ offset: true }).nullable().default(null),
  value: z.number().nullable().default(null),
});

/** The payload of `alert.firing` and `alert.resolved`. */
export const alertGroupSchema = z.object({
  group_key: z.string().min(1).max(1000),
  status: z.enum(["firing", "resolved"]),
  common_labels: labels,
  common_annotations: z.record(z.string(), z.string()).default({}),
  alerts: z.array(alertSchema).min(1).max(1000),
  external_url: z.url().nullable().default(null),
  locale: z.enum(["en", "fr"]).optional(),
});

/** A parsed alert group. */
export type AlertGroup = z.output<typeof alertGroupSchema>;

const TEXT = {
  en: {
    firing: "Firing",
    resolved: "Resolved",
    alerts: (n: number) => `${n} alert${n === 1 ? "" : "s"}`,
    since: "Since",
    ended: "Ended",
    value: "Value",
    severity: "Severity",
    team: "Team",
    runbook: "Runbook",
    source: "Alert source",
    group: "Group",
  },
  fr: {
    firing: "En cours",
    resolved: "Résolue",
    alerts: (n: number) => `${n} alerte${n === 1 ? "" : "s"}`,
    since: "Depuis",
    ended: "Terminée",
    value: "Valeur",
    severity: "Gravité",
    team: "Équipe",
    runbook: "Procédure",
    source: "Source de l'alerte",
    group: "Groupe",
  },
} as const;

const SEVERITIES: Record<string, Severity> = {
  critical: "critical",
  page: "critical",
  error: "error",
  high: "error",
  warning: "warning",
  info: "info",
};

function severityOf(group: AlertGroup): Severity {
  const raw = group.common_labels.severity ?? group.alerts[0].labels.severity ??
    "warning";
  return SEVERITIES[raw.toLowerCase()] ?? "warning";
}

function nameOf(group: AlertGroup): string {
  return group.common_labels.alertname ?? group.alerts[0].labels.alertname ??
    "alert";
}

function render(
  group: AlertGroup,
  locale: Locale,
  status: "firing" | "resolved",
) {
  const t = TEXT[locale];
  const severity = severityOf(group);
  const word = status === "firing" ? t.firing : t.resolved;
  const summary = group.common_annotations.summary ??
    group.alerts[0].annotations.summary ??
    nameOf(group);
  const sections: Section[] = group.alerts.map((alert) => {
    const fields: Field[] = [[t.since, formatTime(alert.starts_at, locale)]];
    if (alert.status === "resolved" && alert.ends_at) {
      fields.push([t.ended, formatTime(alert.ends_at, locale)]);
    }
    if (alert.value !== null) fields.push([t.value, String(alert.value)]);
    const shown = Object.entries(alert.labels)
      .filter(([k]) => k !== "alertname" && !(k in group.common_labels))
      .map(([k, v]) => `${k}=${v}`)
      .join(", ");
    return {
      heading: alert.annotations.summary ?? alert.labels.alertname ??
        nameOf(group),
      text: [alert.annotations.description, shown].filter(Boolean).join("\n") ||
        undefined,
      fields,
    };
  });
  const common: Field[] = [[t.severity, severity]];
  if (group.common_labels.team) common.push([t.team, group.common_labels.team]);
  const runbook = group.common_annotations.runbook_url ??
    group.alerts[0].annotations.runbook_url;
  const links = [
    ...(runbook ? [{ label: t.runbook, url: runbook }] : []),
    ...(group.external_url ? [{ label: t.source, url: group.external_url }] : []),
  ];
  const document: NotificationDocument = {
    title: `[${word}] ${summary} (${t.alerts(group.alerts.length)})`,
    intro: group.common_annotations.description,
    sections: [{ fields: common }, ...sections],
    links,
    footer: `${t.group}: ${group.group_key}`,
    severity: status === "resolved" ? "info" : severity,
    moreUrl: group.external_url ?? runbook,
  };
  return document;
}

const sample = {
  group_key: '{}:{alertname="NotificationsBacklogOld"}',
  status: "firing",
  common_labels: {
    alertname: "NotificationsBacklogOld",
    severity: "critical",
    team: "shop",
  },
  common_annotations: {
    summary: "Notifications wait more than 15 minutes",
    runbook_url: "https://comptoir.dev/runbooks/notifications-backlog",
  },
  alerts: [{
    fingerprint: "8f3c2a1b9d0e4f56",
    status: "firing",
    labels: {
      alertname: "NotificationsBacklogOld",
      severity: "critical",
      channel: "slack",
    },
    annotations: {
      summary: "Slack notifications wait more than 15 minutes",
      description: "The oldest undelivered Slack message is 1,204 s old.",
      runbook_url: "https://comptoir.dev/runbooks/notifications-backlog",
    },
    starts_at: "2026-12-04T09:12:00Z",
    ends_at: null,
    value: 1204,
  }],
  external_url: "https://alerts.comptoir.dev/#/alerts",
};

function template(status: "firing" | "resolved"): Template<AlertGroup> {
  return {
    name: `alert.${status}`,
    description: status === "firing"
      ? "An alert group that fires."
      : "An alert group that resolved.",
    channels: ["slack", "email", "webhook", "pagerduty"],
    required: ["group_key", "status", "alerts"],
    schema: alertGroupSchema,
    sample: status === "firing" ? sample : {
      ...sample,
      status: "resolved",
      alerts: sample.alerts.map((a) => ({
        ...a,
        status: "resolved",
        ends_at: "2026-12-04T09:40:00Z",
      })),
    },
    render: (group, locale) => render(group, locale, status),
    pagerduty: (group) => ({
      action: status === "firing" ? "trigger" : "resolve",
      dedupKey: group.alerts[0].fingerprint,
      source: group.common_labels.instance ?? group.alerts[0].labels.instance ??
        group.common_labels.job ?? "comptoir",
    }),
  };
}

/** `alert.firing`. */
export const alertFiring: Template<AlertGroup> = template("firing");

/** `alert.resolved`. */
export const alertResolved: Template<AlertGroup> = template("resolved");
