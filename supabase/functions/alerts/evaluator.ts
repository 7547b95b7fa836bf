/**
 * The scheduled evaluation: for the current minute (and the minutes missed since the last run, up
 * to `catch_up`, replayed for their state only), read every rule's signal, step each series'
 * state machine, derive the alerts, plan the notifications (silences, inhibition, grouping,
 * cooldown) and publish them through the outbox (`notify.publish`), all in one transaction:
 * nothing is half-written, and what is published is published with the state that caused it.
 *
 * Concurrency and idempotency: the transaction takes an advisory lock, then records the instant in
 * `alerting.evaluations`; a second evaluator waits for the lock, finds the instant and does nothing.
 * Notification ids are stable per (group, instant), so even a replay would not queue twice. After
 * downtime only the last minute notifies: the missed ones move the state machines forward (a
 * pending alert still needs its `for`) without a notification each — no storm.
 * @module
 */
import type postgres from "postgres";
import type { Sql } from "../_shared/db/client.ts";
import { type Clock, realClock } from "../_shared/clock.ts";
import type { LevelSample } from "./detectors.ts";
import { evaluateSeries, seasonalInstants } from "./evaluate_series.ts";
import { fingerprint, type Labels } from "./fingerprint.ts";
import type { Matcher } from "./matchers.ts";
import {
  type ActiveAlert,
  type GroupState,
  type Notification,
  planNotifications,
  type SuppressionReason,
} from "./noise.ts";
import type { Rule, RuleConfig } from "./rules.ts";
import { type PromQuery, readSignal, SignalError, type SignalRow } from "./signals.ts";
import { type AlertState, INITIAL_STATE, type SeriesState } from "./state_machine.ts";

const MINUTE = 60_000;
const LOCK_KEY = 7_212_001;

/** Dependencies of {@linkcode evaluateAlerts}. */
export interface EvaluatorOptions {
  sql: Sql;
  config: RuleConfig;
  clock?: Clock;
  prom?: PromQuery;
  /** `external_url` of the notifications (a link to the alert list). */
  externalUrl?: string | null;
}

/** How one rule fared at the last instant evaluated. */
export interface RuleOutcome {
  rule: string;
  health: "ok" | "error" | "skipped";
  series: number;
  firing: number;
  error?: string;
}

/** The outcome of one call. */
export interface EvaluationOutcome {
  instant: string;
  /** True when this instant had already been evaluated (by this or another evaluator). */
  alreadyEvaluated: boolean;
  /** Missed instants replayed before this one. */
  replayed: number;
  rules: RuleOutcome[];
  notifications: {
    messageId: string;
    groupKey: string;
    status: string;
    alerts: number;
    queued: number;
  }[];
  suppressed: Record<SuppressionReason, number>;
  /** Alerts by state after the evaluation. */
  states: Record<"pending" | "firing" | "nodata", number>;
  durationMs: number;
}

interface SeriesRow {
  rule: string;
  fingerprint: string;
  labels: Labels;
  state: SeriesState;
}

/**
 * Evaluates the rules for the current minute.
 *
 * @example
 * ```ts
 * const outcome = await evaluateAlerts({ sql: getDb(), config });
 * outcome.notifications.length;
 * ```
 */
export async function evaluateAlerts(options: EvaluatorOptions): Promise<EvaluationOutcome> {
  const { sql, config, clock = realClock, prom, externalUrl = null } = options;
  const started = performance.now();
  const instant = Math.floor(clock.now() / MINUTE) * MINUTE;
  const emptySuppressed = { dedup: 0, cooldown: 0, group: 0, inhibition: 0, silence: 0 };
  const outcome = await sql.begin(async (tx) => {
    await tx`select pg_catalog.pg_advisory_xact_lock(${LOCK_KEY})`;
    const [last] = await tx<{ instant: Date | null }[]>`
      select max(instant) as instant from alerting.evaluations`;
    const lastMs = last?.instant ? last.instant.getTime() : null;
    if (lastMs !== null && lastMs >= instant) {
      return { alreadyEvaluated: true as const };
    }
    const first = lastMs === null
      ? instant
      : Math.max(lastMs + MINUTE, instant - config.catchUp * MINUTE);
    const instants: number[] = [];
    for (let at = first; at <= instant; at += MINUTE) instants.push(at);

    const series = await loadSeries(tx);
    const transitions: { row: SeriesRow; from: AlertState; to: AlertState; at: number }[] = [];
    const rules: RuleOutcome[] = [];
    for (const at of instants) {
      rules.length = 0;
      for (const rule of config.rules) {
        rules.push(await evaluateRule(tx, rule, at, series, transitions, prom));
      }
    }
    await saveSeries(tx, [...series.values()]);
    for (const t of transitions) {
      await tx`
        insert into alerting.history (at, fingerprint, alertname, labels, from_state, to_state, value, source)
        values (${new Date(t.at)}, ${t.row.fingerprint}, ${t.row.labels.alertname},
          ${tx.json(t.row.labels)}, ${t.from}, ${t.to}, ${finite(t.row.state.value)}, 'rule')`;
    }
    const byRule = new Map(config.rules.map((r) => [r.name, r]));
    await deriveAlerts(tx, [...series.values()], byRule, instant);
    const plan = await planAndPublish(tx, config, instant, externalUrl);
    for (const r of rules) {
      await tx`
        insert into alerting.rule_status as s (rule, kind, last_instant, last_duration_ms, series, firing, health, last_error)
        values (${r.rule}, ${byRule.get(r.rule)!.kind}, ${new Date(instant)}, ${
        performance.now() - started
      },
          ${r.series}, ${r.firing}, ${r.health}, ${r.error ?? null})
        on conflict (rule) do update set kind = excluded.kind, last_instant = excluded.last_instant,
          last_duration_ms = excluded.last_duration_ms, series = excluded.series,
          firing = excluded.firing, health = excluded.health, last_error = excluded.last_error`;
    }
    await tx`
      insert into alerting.evaluations (instant, duration_ms, replayed, notifications)
      values (${new Date(instant)}, ${performance.now() - started}, ${instants.length - 1},
        ${plan.notifications.length})`;
    const states = { pending: 0, firing: 0, nodata: 0 };
    for (const row of series.values()) {
      if (
        row.state.state === "pending" || row.state.state === "firing" ||
        row.state.state === "nodata"
      ) {
        states[row.state.state]++;
      }
    }
    return {
      alreadyEvaluated: false as const,
      replayed: instants.length - 1,
      rules: [...rules],
      notifications: plan.notifications,
      suppressed: plan.suppressed,
      states,
    };
  });
  const durationMs = performance.now() - started;
  if (outcome.alreadyEvaluated) {
    return {
      instant: new Date(instant).toISOString(),
      alreadyEvaluated: true,
      replayed: 0,
      rules: [],
      notifications: [],
      suppressed: emptySuppressed,
      states: { pending: 0, firing: 0, nodata: 0 },
      durationMs,
    };
  }
  return { instant: new Date(instant).toISOString(), ...outcome, durationMs };
}

async function loadSeries(tx: postgres.TransactionSql): Promise<Map<string, SeriesRow>> {
  const rows = await tx<Record<string, unknown>[]>`select * from alerting.series for update`;
  const map = new Map<string, SeriesRow>();
  for (const r of rows) {
    map.set(`${r.rule}\u0000${r.fingerprint}`, {
      rule: String(r.rule),
      fingerprint: String(r.fingerprint),
      labels: r.labels as Labels,
      state: {
        state: r.state as AlertState,
        activeAt: ms(r.active_at),
        firedAt: ms(r.fired_at),
        lastBreachAt: ms(r.last_breach_at),
        lastSeenAt: ms(r.last_seen_at),
        resolvedAt: ms(r.resolved_at),
        nodataSince: ms(r.nodata_since),
        value: r.value === null ? null : Number(r.value),
      },
    });
  }
  return map;
}

async function saveSeries(tx: postgres.TransactionSql, rows: SeriesRow[]): Promise<void> {
  for (const { rule, fingerprint: fp, labels, state: s } of rows) {
    await tx`
      insert into alerting.series as t (rule, fingerprint, labels, state, active_at, fired_at,
        last_breach_at, last_seen_at, resolved_at, nodata_since, value, updated_at)
      values (${rule}, ${fp}, ${tx.json(labels)}, ${s.state}, ${date(s.activeAt)}, ${
      date(s.firedAt)
    },
        ${date(s.lastBreachAt)}, ${date(s.lastSeenAt)}, ${date(s.resolvedAt)},
        ${date(s.nodataSince)}, ${finite(s.value)}, now())
      on conflict (rule, fingerprint) do update set labels = excluded.labels, state = excluded.state,
        active_at = excluded.active_at, fired_at = excluded.fired_at,
        last_breach_at = excluded.last_breach_at, last_seen_at = excluded.last_seen_at,
        resolved_at = excluded.resolved_at, nodata_since = excluded.nodata_since,
        value = excluded.value, updated_at = now()
      where (t.state, t.active_at, t.fired_at, t.last_breach_at, t.last_seen_at, t.resolved_at,
          t.nodata_since, t.value)
        is distinct from (excluded.state, excluded.active_at, excluded.fired_at,
          excluded.last_breach_at, excluded.last_seen_at, excluded.resolved_at,
          excluded.nodata_since, excluded.value)`;
  }
}

async function evaluateRule(
  tx: postgres.TransactionSql,
  rule: Rule,
  at: number,
  series: Map<string, SeriesRow>,
  transitions: { row: SeriesRow; from: AlertState; to: AlertState; at: number }[],
  prom: PromQuery | undefined,
): Promise<RuleOutcome> {
  if (rule.signal.kind === "promql" && !prom) {
    return {
      rule: rule.name,
      health: "skipped",
      series: 0,
      firing: 0,
      error: "no COMPTOIR_PROMETHEUS_URL",
    };
  }
  let rows: SignalRow[];
  let baselines = new Map<string, number[]>();
  try {
    rows = await readSignal(tx, rule.signal, at, prom);
    if (rule.detector.kind === "seasonal") {
      baselines = new Map();
      for (const past of seasonalInstants(at, rule.detector.weeks, rule.detector.neighbours)) {
        for (const row of await readSignal(tx, rule.signal, past, prom)) {
          const fp = fingerprint(seriesLabels(rule, row.labels));
          const value = ratio(row.value, row.denominator);
          if (value === null) continue;
          const list = baselines.get(fp) ?? [];
          list.push(value);
          baselines.set(fp, list);
        }
      }
    }
  } catch (error) {
    if (!(error instanceof SignalError)) throw error;
    return { rule: rule.name, health: "error", series: 0, firing: 0, error: error.message };
  }

  const seen = new Set<string>();
  for (const row of rows) {
    const labels = seriesLabels(rule, row.labels);
    const fp = fingerprint(labels);
    if (seen.has(fp)) continue;
    seen.add(fp);
    const key = `${rule.name}\u0000${fp}`;
    const current = series.get(key) ??
      { rule: rule.name, fingerprint: fp, labels, state: INITIAL_STATE };
    const increaseOverMs = rule.signal.kind === "sql" ? rule.signal.increaseOverMs : null;
    const value = increaseOverMs !== null
      ? await increase(tx, rule, fp, at, row, increaseOverMs)
      : ratio(row.value, row.denominator);
    // The value judged (increase() records its own), and for seasonal rules the seasonal median
    // it was judged against: the day's level of the next evaluations comes from these.
    const record = async (seasonal: number | null) => {
      if (increaseOverMs !== null) return;
      await tx`
        insert into alerting.samples (rule, fingerprint, at, value, seasonal)
        values (${rule.name}, ${fp}, ${new Date(at)}, ${value}, ${finite(seasonal)})
        on conflict do nothing`;
    };
    const history = rule.historyWindow > 0
      ? (await tx<{ value: number }[]>`
          select value from alerting.samples
          where rule = ${rule.name} and fingerprint = ${fp} and value is not null
            and at >= ${new Date(at - rule.historyWindow * MINUTE)} and at < ${new Date(at)}
          order by at`).map((r) => Number(r.value))
      : [];
    if (value === null) {
      // A series that reports but cannot be judged yet (a counter without its first window, a
      // ratio without traffic) is seen, neither breached nor silent: its state stays.
      await record(null);
      series.set(key, { ...current, labels, state: { ...current.state, lastSeenAt: at } });
      continue;
    }
    const { verdict, step } = evaluateSeries(rule, current.state, {
      at,
      value,
      history,
      baseline: baselines.get(fp) ?? [],
      recent: await recentLevelSamples(tx, rule, fp, at),
    });
    await record(verdict?.seasonal ?? null);
    series.set(key, { ...current, labels, state: step.next });
    if (step.transition) transitions.push({ row: series.get(key)!, ...step.transition, at });
  }
  for (const [key, row] of series) {
    if (row.rule !== rule.name || seen.has(row.fingerprint)) continue;
    const { step } = evaluateSeries(rule, row.state, { at, value: null });
    series.set(key, { ...row, state: step.next });
    if (step.transition) transitions.push({ row: series.get(key)!, ...step.transition, at });
  }
  let firing = 0;
  for (const row of series.values()) {
    if (row.rule === rule.name && row.state.state === "firing") firing++;
  }
  return { rule: rule.name, health: "ok", series: seen.size, firing };
}

/** The evaluations of a seasonal series a level factor is computed from (none without a level). */
async function recentLevelSamples(
  tx: postgres.TransactionSql,
  rule: Rule,
  fp: string,
  at: number,
): Promise<LevelSample[]> {
  const { detector } = rule;
  if (detector.kind !== "seasonal" || !detector.levelWindowMs) return [];
  const skip = detector.levelSkipMs ?? 30 * MINUTE;
  const rows = await tx<{ at: Date; value: number; seasonal: number }[]>`
    select at, value, seasonal from alerting.samples
    where rule = ${rule.name} and fingerprint = ${fp} and value is not null
      and seasonal is not null
      and at >= ${new Date(at - detector.levelWindowMs)} and at < ${new Date(at - skip)}
    order by at`;
  return rows.map((r) => ({
    at: r.at.getTime(),
    value: Number(r.value),
    seasonal: Number(r.seasonal),
  }));
}

/** The rule sees the increase of running totals over `windowMs`, from the totals it recorded. */
async function increase(
  tx: postgres.TransactionSql,
  rule: Rule,
  fp: string,
  at: number,
  row: SignalRow,
  windowMs: number,
): Promise<number | null> {
  const [then] = await tx<{ raw: number; raw_denominator: number | null }[]>`
    select raw, raw_denominator from alerting.samples
    where rule = ${rule.name} and fingerprint = ${fp} and raw is not null
      and at >= ${new Date(at - windowMs)} and at < ${new Date(at)}
    order by at limit 1`;
  const delta = (now: number, before: number | null | undefined) =>
    before === null || before === undefined ? null : now >= before ? now - before : now;
  const num = then ? delta(row.value, Number(then.raw)) : null;
  const den = row.denominator === null
    ? null
    : then
    ? delta(row.denominator, then.raw_denominator === null ? null : Number(then.raw_denominator))
    : null;
  const value = num === null ? null : row.denominator === null ? num : den ? num / den : null;
  await tx`
    insert into alerting.samples (rule, fingerprint, at, value, raw, raw_denominator)
    values (${rule.name}, ${fp}, ${new Date(at)}, ${value}, ${finite(row.value)},
      ${finite(row.denominator)})
    on conflict do nothing`;
  return value;
}

/** Turns the final series states into alert rows: firing, resolved, and no-data alerts. */
async function deriveAlerts(
  tx: postgres.TransactionSql,
  rows: SeriesRow[],
  rules: Map<string, Rule>,
  instant: number,
): Promise<void> {
  const existing = new Map(
    (await tx<{ fingerprint: string; status: string; sources: string[] }[]>`
      select fingerprint, status, sources from alerting.alerts for update`)
      .map((r) => [r.fingerprint, r]),
  );
  for (const row of rows) {
    const rule = rules.get(row.rule);
    if (!rule) continue;
    const s = row.state;
    const nodataLabels = { ...row.labels, nodata: "true" };
    const targets: {
      fp: string;
      labels: Labels;
      firing: boolean;
      startsAt: number;
      endsAt: number;
      nodata: boolean;
    }[] = [
      {
        fp: row.fingerprint,
        labels: row.labels,
        firing: s.state === "firing",
        startsAt: s.activeAt ?? instant,
        endsAt: s.resolvedAt ?? instant,
        nodata: false,
      },
      {
        fp: fingerprint(nodataLabels),
        labels: nodataLabels,
        firing: s.state === "nodata",
        startsAt: s.nodataSince ?? instant,
        endsAt: s.lastSeenAt ?? instant,
        nodata: true,
      },
    ];
    for (const t of targets) {
      const known = existing.get(t.fp);
      const annotations = render(rule, t.labels, s.value, t.nodata);
      if (t.firing) {
        await tx`
          insert into alerting.alerts as a (fingerprint, alertname, labels, annotations, status,
            starts_at, ends_at, value, sources)
          values (${t.fp}, ${rule.name}, ${tx.json(t.labels)}, ${tx.json(annotations)}, 'firing',
            ${new Date(t.startsAt)}, null, ${finite(s.value)}, ${["rule"]})
          on conflict (fingerprint) do update set annotations = excluded.annotations,
            status = 'firing', ends_at = null, value = excluded.value,
            starts_at = case when a.status = 'firing' then a.starts_at else excluded.starts_at end,
            sources = case when 'rule' = any(a.sources) then a.sources
              else a.sources || array['rule'] end,
            updated_at = now()`;
      } else if (known && known.status === "firing" && known.sources.includes("rule")) {
        if (known.sources.length > 1) {
          await tx`
            update alerting.alerts set sources = array_remove(sources, 'rule'), updated_at = now()
            where fingerprint = ${t.fp}`;
        } else {
          await tx`
            update alerting.alerts set status = 'resolved', ends_at = ${new Date(
            Math.max(t.endsAt, t.startsAt),
          )},
              updated_at = now()
            where fingerprint = ${t.fp}`;
        }
      }
    }
  }
}

/** Plans the notifications of `instant` and publishes them through the outbox. */
async function planAndPublish(
  tx: postgres.TransactionSql,
  config: RuleConfig,
  instant: number,
  externalUrl: string | null,
) {
  const alerts: ActiveAlert[] = (await tx<Record<string, unknown>[]>`
    select fingerprint, labels, annotations, status, starts_at, ends_at, value
    from alerting.alerts order by fingerprint`).map((r) => ({
    fingerprint: String(r.fingerprint),
    labels: r.labels as Labels,
    annotations: r.annotations as Labels,
    status: r.status as "firing" | "resolved",
    startsAt: (r.starts_at as Date).getTime(),
    endsAt: r.ends_at ? (r.ends_at as Date).getTime() : null,
    value: r.value === null ? null : Number(r.value),
  }));
  const groups: GroupState[] = (await tx<Record<string, unknown>[]>`
    select group_key, labels, created_at, last_notified_at, notified_firing
    from alerting.groups for update`).map((r) => ({
    groupKey: String(r.group_key),
    labels: r.labels as Labels,
    createdAt: (r.created_at as Date).getTime(),
    lastNotifiedAt: r.last_notified_at ? (r.last_notified_at as Date).getTime() : null,
    notifiedFiring: [...(r.notified_firing as string[])].sort(),
  }));
  const silences = (await tx<{ id: string; matchers: Matcher[]; starts_at: Date; ends_at: Date }[]>`
    select id, matchers, starts_at, ends_at from alerting.silences
    where ends_at > ${new Date(instant)} and starts_at <= ${new Date(instant)}`).map((s) => ({
    id: s.id,
    matchers: s.matchers,
    startsAt: s.starts_at.getTime(),
    endsAt: s.ends_at.getTime(),
  }));
  const plan = planNotifications({
    now: instant,
    alerts,
    groups,
    route: config.route,
    silences,
    inhibitRules: config.inhibitRules,
  });
  const published: EvaluationOutcome["notifications"] = [];
  for (const n of plan.notifications) {
    const queued = await publish(tx, n, externalUrl);
    await tx`
      insert into alerting.notifications (message_id, group_key, status, alerts, queued, at)
      values (${n.messageId}, ${n.groupKey}, ${n.status}, ${n.alerts.length}, ${queued}, ${new Date(
      instant,
    )})
      on conflict (message_id) do nothing`;
    published.push({
      messageId: n.messageId,
      groupKey: n.groupKey,
      status: n.status,
      alerts: n.alerts.length,
      queued,
    });
  }
  await tx`delete from alerting.groups`;
  for (const g of plan.groups) {
    await tx`
      insert into alerting.groups (group_key, labels, created_at, last_notified_at, notified_firing)
      values (${g.groupKey}, ${tx.json(g.labels)}, ${new Date(g.createdAt)}, ${
      date(g.lastNotifiedAt)
    },
        ${g.notifiedFiring})`;
  }
  if (plan.deliveredResolved.length > 0) {
    await tx`
      delete from alerting.alerts where status = 'resolved' and fingerprint = any(${plan.deliveredResolved})`;
  }
  await tx`
    update alerting.alerts a set muted_by = m.reason
    from (select f, r from unnest(${[...plan.muted.keys()]}::text[], ${[
    ...plan.muted.values(),
  ]}::text[]) as t(f, r)) as m(fingerprint, reason)
    where a.fingerprint = m.fingerprint and a.muted_by is distinct from m.reason`;
  await tx`
    update alerting.alerts set muted_by = null
    where muted_by is not null and fingerprint <> all(${[...plan.muted.keys()]}::text[])`;
  return { notifications: published, suppressed: plan.suppressed };
}

/** Queues one notification with `notify.publish` (contract of the outbox); returns messages queued. */
async function publish(
  tx: postgres.TransactionSql,
  n: Notification,
  externalUrl: string | null,
): Promise<number> {
  const payload = {
    group_key: n.groupKey,
    status: n.status,
    common_labels: n.commonLabels,
    common_annotations: n.commonAnnotations,
    alerts: n.alerts.map((a) => ({
      fingerprint: a.fingerprint,
      status: a.status,
      labels: a.labels,
      // Only the annotations the alert has: an Alertmanager alert may come without a runbook.
      annotations: Object.fromEntries(
        (["summary", "description", "runbook_url"] as const)
          .filter((k) => typeof a.annotations[k] === "string" && a.annotations[k] !== "")
          .map((k) => [k, a.annotations[k]]),
      ),
      starts_at: new Date(a.startsAt).toISOString(),
      ends_at: a.endsAt === null ? null : new Date(a.endsAt).toISOString(),
      value: a.value,
    })),
    external_url: externalUrl,
  };
  const lead = n.alerts[0];
  const attributes = {
    severity: n.commonLabels.severity ?? lead.labels.severity ?? "warning",
    team: n.commonLabels.team ?? lead.labels.team ?? "platform",
    fingerprint: lead.fingerprint,
  };
  const [row] = await tx<{ queued: number }[]>`
    select notify.publish(${`alert.${n.status}`}, ${tx.json(payload)}, ${tx.json(attributes)},
      ${n.groupKey}, ${n.messageId}) as queued`;
  return Number(row.queued);
}

function seriesLabels(rule: Rule, signalLabels: Labels): Labels {
  return { ...signalLabels, ...rule.labels, alertname: rule.name };
}

/** Fills `{{ $value }}` and `{{ $labels.name }}` in the rule's annotations. */
function render(rule: Rule, labels: Labels, value: number | null, nodata: boolean): Labels {
  const fill = (text: string) =>
    text
      .replace(
        /\{\{\s*\$value\s*\}\}/g,
        value === null || !Number.isFinite(value) ? "" : String(round(value)),
      )
      .replace(
        /\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g,
        (_, name) => labels[name] ?? "",
      );
  const { summary, description, runbook_url } = rule.annotations;
  return nodata
    ? {
      summary: `No data: ${fill(summary)}`,
      description: `The signal of ${rule.name} stopped reporting for this series.`,
      runbook_url,
    }
    : { summary: fill(summary), description: fill(description), runbook_url };
}

function ratio(value: number, denominator: number | null): number | null {
  if (!Number.isFinite(value)) return null;
  if (denominator === null) return value;
  return Number.isFinite(denominator) && denominator > 0 ? value / denominator : null;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
function ms(value: unknown): number | null {
  return value instanceof Date
    ? value.getTime()
    : value === null || value === undefined
    ? null
    : new Date(String(value)).getTime();
}
function date(value: number | null): Date | null {
  return value === null ? null : new Date(value);
}
function finite(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : value;
}
