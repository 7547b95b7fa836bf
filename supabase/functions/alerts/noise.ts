/**
 * Noise control between alert states and notifications, Alertmanager's model: alerts muted by a
 * silence or inhibited by a firing cause are not notified; the rest are grouped by the route's
 * `group_by` labels into one notification per group, sent `group_wait` after the group appears,
 * then at most every `group_interval` when its alerts change, and again only after
 * `repeat_interval` when nothing changed (the cooldown). Pure: the evaluator persists the group
 * states, the alerts and the silences, and passes them in at each instant.
 * @module
 */
import { fingerprint, type Labels } from "./fingerprint.ts";
import { type Matcher, matchesAll } from "./matchers.ts";

/** An alert as the planner sees it. */
export interface ActiveAlert {
  fingerprint: string;
  labels: Labels;
  annotations: Labels;
  status: "firing" | "resolved";
  startsAt: number;
  endsAt: number | null;
  value: number | null;
}

/** A silence: alerts whose labels match every matcher are muted between its start and end. */
export interface Silence {
  id: string;
  matchers: readonly Matcher[];
  startsAt: number;
  endsAt: number;
}

/** A cause that mutes its symptoms: targets that share the `equal` labels of a firing source. */
export interface InhibitRule {
  sourceMatchers: readonly Matcher[];
  targetMatchers: readonly Matcher[];
  equal: readonly string[];
}

/** Grouping and timing of notifications, in ms. */
export interface Route {
  groupBy: readonly string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
}

/** What is kept of a group between instants. */
export interface GroupState {
  groupKey: string;
  labels: Labels;
  createdAt: number;
  lastNotifiedAt: number | null;
  /** Fingerprints of the firing alerts the last notification carried, sorted. */
  notifiedFiring: string[];
}

/** Why an alert a naive notifier would send was not sent on its own. */
export type SuppressionReason = "dedup" | "cooldown" | "group" | "inhibition" | "silence";

/** One notification: one per group. */
export interface Notification {
  groupKey: string;
  status: "firing" | "resolved";
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Labels;
  alerts: ActiveAlert[];
  /** Stable per (group, instant): the same instant planned twice yields the same id. */
  messageId: string;
}

/** The outcome of one instant. */
export interface Plan {
  notifications: Notification[];
  /** Group states to keep (groups left out are finished and dropped). */
  groups: GroupState[];
  suppressed: Record<SuppressionReason, number>;
  /** Fingerprints of resolved alerts that a notification carried (they can be forgotten). */
  deliveredResolved: string[];
  /** Fingerprints muted at this instant, and why. */
  muted: Map<string, "inhibition" | "silence">;
}

/** Inputs of {@linkcode planNotifications}. */
export interface PlanInput {
  now: number;
  alerts: readonly ActiveAlert[];
  groups: readonly GroupState[];
  route: Route;
  silences?: readonly Silence[];
  inhibitRules?: readonly InhibitRule[];
}

/** Which silence or inhibition mutes `alert` at `now`, if any. */
export function mutedBy(
  alert: ActiveAlert,
  firing: readonly ActiveAlert[],
  now: number,
  silences: readonly Silence[],
  inhibitRules: readonly InhibitRule[],
): "inhibition" | "silence" | null {
  if (
    silences.some((s) =>
      s.startsAt <= now && now < s.endsAt && matchesAll(s.matchers, alert.labels)
    )
  ) {
    return "silence";
  }
  for (const rule of inhibitRules) {
    if (!matchesAll(rule.targetMatchers, alert.labels)) continue;
    const cause = firing.find((source) =>
      source.fingerprint !== alert.fingerprint &&
      matchesAll(rule.sourceMatchers, source.labels) &&
      rule.equal.every((name) => (source.labels[name] ?? "") === (alert.labels[name] ?? ""))
    );
    if (cause) return "inhibition";
  }
  return null;
}

/**
 * Decides which notifications go out at `now`.
 *
 * @example
 * ```ts
 * const route = { groupBy: ["alertname"], groupWaitMs: 0, groupIntervalMs: 300_000, repeatIntervalMs: 14_400_000 };
 * planNotifications({ now: 0, alerts: [], groups: [], route }).notifications; // []
 * ```
 */
export function planNotifications(input: PlanInput): Plan {
  const { now, alerts, route, silences = [], inhibitRules = [] } = input;
  const suppressed: Record<SuppressionReason, number> = {
    dedup: 0,
    cooldown: 0,
    group: 0,
    inhibition: 0,
    silence: 0,
  };
  const firing = alerts.filter((a) => a.status === "firing");
  const muted = new Map<string, "inhibition" | "silence">();
  const byGroup = new Map<string, { labels: Labels; alerts: ActiveAlert[] }>();
  for (const alert of alerts) {
    const reason = alert.status === "firing"
      ? mutedBy(alert, firing, now, silences, inhibitRules)
      : null;
    if (reason) {
      muted.set(alert.fingerprint, reason);
      suppressed[reason]++;
      continue;
    }
    const labels = groupLabels(alert.labels, route.groupBy);
    const key = groupKey(labels);
    const group = byGroup.get(key) ?? { labels, alerts: [] };
    group.alerts.push(alert);
    byGroup.set(key, group);
  }

  const previous = new Map(input.groups.map((g) => [g.groupKey, g]));
  const notifications: Notification[] = [];
  const groups: GroupState[] = [];
  const deliveredResolved: string[] = [];

  for (const [key, group] of byGroup) {
    const state = previous.get(key) ??
      {
        groupKey: key,
        labels: group.labels,
        createdAt: now,
        lastNotifiedAt: null,
        notifiedFiring: [],
      };
    previous.delete(key);
    const firingNow = group.alerts.filter((a) => a.status === "firing").map((a) => a.fingerprint)
      .sort();
    const resolvedNow = group.alerts.filter((a) => a.status === "resolved");
    // A resolved alert never notified as firing needs no resolution either.
    const resolvedToTell = resolvedNow.filter((a) => state.notifiedFiring.includes(a.fingerprint));
    for (const a of resolvedNow) {
      if (!resolvedToTell.includes(a)) deliveredResolved.push(a.fingerprint);
    }
    const changed = resolvedToTell.length > 0 || !sameSet(firingNow, state.notifiedFiring);
    let due: boolean;
    if (state.lastNotifiedAt === null) {
      due = firingNow.length > 0 && now - state.createdAt >= route.groupWaitMs;
    } else if (changed) {
      due = now - state.lastNotifiedAt >= route.groupIntervalMs;
    } else {
      due = firingNow.length > 0 && now - state.lastNotifiedAt >= route.repeatIntervalMs;
    }
    const sendable = group.alerts.filter((a) =>
      a.status === "firing" || resolvedToTell.includes(a)
    );
    if (!due) {
      const reason = state.lastNotifiedAt !== null && !changed ? "cooldown" : "group";
      suppressed[reason] += sendable.length;
      if (firingNow.length > 0 || resolvedToTell.length > 0) groups.push(state);
      continue;
    }
    if (sendable.length === 0) continue;
    suppressed.group += sendable.length - 1;
    notifications.push(toNotification(key, group.labels, sendable, now));
    deliveredResolved.push(...resolvedToTell.map((a) => a.fingerprint));
    if (firingNow.length > 0) {
      groups.push({ ...state, lastNotifiedAt: now, notifiedFiring: firingNow });
    }
  }
  // Groups whose alerts are all gone (or all muted) keep their state only while they wait to say
  // that their alerts resolved; muted ones keep it so an unmuted alert is not re-announced as new.
  for (const state of previous.values()) {
    if (state.notifiedFiring.some((f) => muted.has(f))) groups.push(state);
  }
  return { notifications, groups, suppressed, deliveredResolved, muted };
}

/** The labels of `labels` that `groupBy` names (`...` groups by every label). */
export function groupLabels(labels: Labels, groupBy: readonly string[]): Labels {
  if (groupBy.includes("...")) return { ...labels };
  const out: Record<string, string> = {};
  for (const name of groupBy) if (labels[name] !== undefined) out[name] = labels[name];
  return out;
}

/** Alertmanager's group key shape: the route, then the group's labels as matchers. */
export function groupKey(labels: Labels): string {
  const pairs = Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `{}:{${pairs.join(",")}}`;
}

function toNotification(
  key: string,
  labels: Labels,
  alerts: ActiveAlert[],
  now: number,
): Notification {
  const ordered = [...alerts].sort((a, b) =>
    a.status === b.status
      ? a.fingerprint.localeCompare(b.fingerprint)
      : a.status === "firing"
      ? -1
      : 1
  );
  return {
    groupKey: key,
    status: ordered.some((a) => a.status === "firing") ? "firing" : "resolved",
    groupLabels: labels,
    commonLabels: common(ordered.map((a) => a.labels)),
    commonAnnotations: common(ordered.map((a) => a.annotations)),
    alerts: ordered,
    messageId: `alert-${fingerprint({ group_key: key })}-${new Date(now).toISOString()}`,
  };
}

function common(sets: readonly Labels[]): Labels {
  if (sets.length === 0) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(sets[0])) {
    if (sets.every((s) => s[k] === v)) out[k] = v;
  }
  return out;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
