/**
 * The replay harness of the alerting service: deterministic synthetic shop signals at one-minute
 * resolution (daily and weekly seasonality, trend, noise, bursts, holidays and sale days, and
 * labelled incidents: drops, spikes, level shifts, slow drifts, outages, missing data), replayed
 * minute by minute through the alerts function's own evaluation (detectors + state machine), and
 * scored against the labels: precision, recall, F1, detection delay and reset time in evaluations,
 * false positives per week. Also the replay of an alert storm through the notification planner.
 * @module
 */
import {
  evaluateSeries,
  seasonalInstants,
} from "../../supabase/functions/alerts/evaluate_series.ts";
import type { LevelSample } from "../../supabase/functions/alerts/detectors.ts";
import { fingerprint } from "../../supabase/functions/alerts/fingerprint.ts";
import {
  type ActiveAlert,
  type GroupState,
  type InhibitRule,
  planNotifications,
  type Route,
} from "../../supabase/functions/alerts/noise.ts";
import type { Rule } from "../../supabase/functions/alerts/rules.ts";
import { INITIAL_STATE, type SeriesState } from "../../supabase/functions/alerts/state_machine.ts";

export const MINUTE = 60_000;
export const WEEK_MINUTES = 7 * 24 * 60;

/** Kinds of labelled incident. */
export type IncidentKind = "drop" | "spike" | "level_shift" | "drift" | "outage" | "missing";

/** One labelled incident of one series, in minutes from the start. */
export interface Incident {
  series: number;
  kind: IncidentKind;
  start: number;
  end: number;
  /** Multiplier at the deepest point (0 for outages, NaN for missing data). */
  factor: number;
}

/** A generated data set. */
export interface Dataset {
  /** Epoch ms of minute 0 (a Monday, 00:00 UTC). */
  start: number;
  minutes: number;
  /** Minute from which incidents are scored (the weeks before are the seasonal baseline). */
  scoredFrom: number;
  series: { name: string; level: number; values: (number | null)[] }[];
  incidents: Incident[];
  /** Days (minute ranges) of holidays and sales: unusual but not incidents. */
  specialDays: { start: number; end: number; factor: number }[];
}

/** Options of {@linkcode generateDataset}. */
export interface DatasetOptions {
  weeks?: number;
  warmupWeeks?: number;
  seed?: number;
  /** Peak values per minute of each series. */
  levels?: number[];
  /** Incidents per series over the scored weeks. */
  incidentsPerSeries?: number;
}

/** mulberry32: a small deterministic PRNG, so the data set is the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function bump(hour: number, centre: number, width: number): number {
  return Math.exp(-(((hour - centre) / width) ** 2));
}

/** Daily profile in [~0.08, 1]: quiet nights, a lunch peak and an evening peak. */
export function dailyProfile(hour: number): number {
  return 0.08 + 0.92 * Math.min(
        1,
        0.25 * bump(hour, 9, 1.5) + 0.8 * bump(hour, 12.5, 2.5) +
          0.95 * bump(hour, 20.5, 2.2) + 0.35 * bump(hour, 16, 3),
      );
}

/** Weekly factor by day (0 = Monday). */
const WEEKLY = [0.92, 0.95, 0.97, 1.0, 1.05, 1.25, 1.12];

/**
 * Generates the synthetic data set (deterministic for a seed).
 *
 * @example
 * ```ts
 * const data = generateDataset({ weeks: 9 });
 * data.series[0].values.length; // 90720
 * ```
 */
export function generateDataset(
  {
    weeks = 9,
    warmupWeeks = 4,
    seed = 20261204,
    levels = [120, 260, 480, 900, 1500, 2400],
    incidentsPerSeries = 12,
  }: DatasetOptions = {},
): Dataset {
  const random = prng(seed);
  const minutes = weeks * WEEK_MINUTES;
  const scoredFrom = warmupWeeks * WEEK_MINUTES;
  const start = Date.UTC(2026, 0, 5);
  const specialDays = [
    { day: warmupWeeks * 7 + 10, factor: 0.7 },
    { day: warmupWeeks * 7 + 24, factor: 1.3 },
    { day: 9, factor: 0.7 },
  ].filter((d) => d.day < weeks * 7).map((d) => ({
    start: d.day * 1440,
    end: (d.day + 1) * 1440,
    factor: d.factor,
  }));
  const kinds: IncidentKind[] = ["drop", "spike", "level_shift", "drift", "outage", "missing"];
  const incidents: Incident[] = [];
  const series = levels.map((level, s) => {
    const mine: Incident[] = [];
    // Incidents in business hours (07:00-23:00), at least a day apart, some in the warm-up weeks
    // too (unscored): the seasonal baseline must shrug them off.
    const place = (from: number, to: number, count: number) => {
      for (let i = 0; i < count; i++) {
        const kind = kinds[(i + s) % kinds.length];
        for (let attempt = 0; attempt < 100; attempt++) {
          const day = Math.floor(from / 1440 + random() * ((to - from) / 1440 - 1));
          const begin = day * 1440 + 7 * 60 + Math.floor(random() * 13 * 60);
          const length = {
            drop: 20 + Math.floor(random() * 40),
            spike: 10 + Math.floor(random() * 20),
            level_shift: 180 + Math.floor(random() * 180),
            drift: 150 + Math.floor(random() * 90),
            outage: 15 + Math.floor(random() * 30),
            missing: 20 + Math.floor(random() * 20),
          }[kind];
          const factor = {
            drop: 0.1 + random() * 0.35,
            spike: 1.8 + random() * 0.8,
            level_shift: 0.4 + random() * 0.1,
            drift: 0.3 + random() * 0.1,
            outage: 0,
            missing: NaN,
          }[kind];
          const incident = { series: s, kind, start: begin, end: begin + length, factor };
          const clash = mine.some((o) => begin < o.end + 1440 && o.start < incident.end + 1440) ||
            specialDays.some((d) => begin < d.end && d.start < incident.end);
          if (!clash) {
            mine.push(incident);
            break;
          }
        }
      }
    };
    place(0, scoredFrom, 2);
    place(scoredFrom, minutes, incidentsPerSeries);
    incidents.push(...mine);
    const values: (number | null)[] = new Array(minutes);
    for (let m = 0; m < minutes; m++) {
      const hour = (m % 1440) / 60;
      const day = Math.floor(m / 1440);
      let mean = level * dailyProfile(hour) * WEEKLY[day % 7] * (1 + 0.01 * (m / WEEK_MINUTES));
      for (const d of specialDays) if (m >= d.start && m < d.end) mean *= d.factor;
      let missing = false;
      for (const inc of mine) {
        if (m < inc.start || m >= inc.end) continue;
        if (inc.kind === "missing") missing = true;
        else if (inc.kind === "drift") {
          // Slides to the factor over the first two thirds, then stays there.
          const progress = Math.min(1, (m - inc.start) / ((inc.end - inc.start) * (2 / 3)));
          mean *= 1 - (1 - inc.factor) * progress;
        } else mean *= inc.factor;
      }
      const noise = Math.sqrt(Math.max(mean, 1)) * gaussian(random) +
        mean * 0.03 * gaussian(random);
      // Unlabelled one-minute bursts (a crawler, a retry wave): noise a rule must not page on.
      const burst = random() < 0.002 ? mean * (random() < 0.5 ? -0.4 : 0.5) : 0;
      values[m] = missing ? null : Math.max(0, Math.round(mean + noise + burst));
    }
    return { name: `shop-${s + 1}`, level, values };
  });
  return { start, minutes, scoredFrom, series, incidents, specialDays };
}

/** One firing episode of a series. */
export interface Episode {
  series: number;
  /** `nodata` episodes are the no-data alert of the series. */
  kind: "threshold" | "nodata";
  firedAt: number;
  resolvedAt: number | null;
}

/** Runs `rule` over every series of `data` (minute by minute from minute 0), returning episodes. */
export function replayRule(
  data: Dataset,
  rule: Pick<Rule, "detector" | "forMs" | "keepFiringForMs" | "noDataForMs" | "historyWindow">,
  thresholdFor: (level: number) => number | undefined = () => undefined,
): Episode[] {
  const episodes: Episode[] = [];
  const detector = rule.detector;
  data.series.forEach((series, s) => {
    const threshold = thresholdFor(series.level);
    const seriesRule = threshold !== undefined && detector.kind === "static"
      ? { ...rule, detector: { ...detector, threshold } }
      : rule;
    let state: SeriesState = INITIAL_STATE;
    const history: number[] = [];
    // The evaluations a level factor looks back on, as the evaluator keeps them in alerting.samples.
    const recent: LevelSample[] = [];
    const levelWindowMs = detector.kind === "seasonal" ? detector.levelWindowMs ?? 0 : 0;
    let open: Episode | null = null;
    let nodata: Episode | null = null;
    for (let m = 0; m < data.minutes; m++) {
      const value = series.values[m];
      let baseline: number[] = [];
      if (detector.kind === "seasonal") {
        baseline = seasonalMinutes(m, detector.weeks, detector.neighbours)
          .map((i) => (i >= 0 ? series.values[i] : null))
          .filter((v): v is number => v !== null);
      }
      const { verdict, step } = evaluateSeries(seriesRule, state, {
        at: m * MINUTE,
        value,
        history,
        baseline,
        recent,
      });
      state = step.next;
      if (levelWindowMs > 0) {
        if (value !== null && verdict?.seasonal !== undefined) {
          recent.push({ at: m * MINUTE, value, seasonal: verdict.seasonal });
        }
        while (recent.length > 0 && recent[0].at < (m + 1) * MINUTE - levelWindowMs) recent.shift();
      }
      if (value !== null) {
        history.push(value);
        if (history.length > rule.historyWindow) history.shift();
      }
      if (!step.transition) continue;
      const { from, to } = step.transition;
      if (to === "firing") {
        open = { series: s, kind: "threshold", firedAt: m, resolvedAt: null };
        episodes.push(open);
      }
      if (from === "firing" && open) {
        open.resolvedAt = m;
        open = null;
      }
      if (to === "nodata") {
        nodata = { series: s, kind: "nodata", firedAt: m, resolvedAt: null };
        episodes.push(nodata);
      }
      if (from === "nodata" && nodata) {
        nodata.resolvedAt = m;
        nodata = null;
      }
    }
  });
  return episodes;
}

/** Minute indexes of the seasonal baseline of minute `m`. */
function seasonalMinutes(m: number, weeks: number, neighbours: number): number[] {
  return seasonalInstants(m * MINUTE, weeks, neighbours).map((at) => at / MINUTE);
}

/** Scores of one rule kind. */
export interface Score {
  /** Episodes left out because they started inside a muted window. */
  muted: number;
  incidents: number;
  detected: number;
  episodes: number;
  truePositives: number;
  falsePositives: number;
  precision: number;
  recall: number;
  f1: number;
  /** Evaluations from the incident's start to the first firing (1 = the first evaluation). */
  delays: number[];
  /** Evaluations from the incident's end to the resolution. */
  resets: number[];
  falsePositivesPerWeek: number;
  /** Delays of drops deeper than half (drops and outages). */
  deepDropDelays: number[];
  /** Recall per incident kind. */
  recallByKind: Record<IncidentKind, { incidents: number; detected: number }>;
}

/** Minutes after an incident's end during which an alert still belongs to it. */
export const GRACE_MINUTES = 15;

/**
 * Scores `episodes` against the incidents of `data`, from `data.scoredFrom` on. With `muted`,
 * episodes that start inside one of those windows are left out (counted in `muted`): what a
 * silence over the holidays and sale days, created ahead like a maintenance window, does.
 */
export function score(
  data: Dataset,
  episodes: Episode[],
  muted: readonly { start: number; end: number }[] = [],
): Score {
  const scoredIncidents = data.incidents.filter((i) => i.start >= data.scoredFrom);
  const inWindow = (e: Episode) => muted.some((w) => e.firedAt >= w.start && e.firedAt < w.end);
  const scoredEpisodes = episodes.filter((e) => e.firedAt >= data.scoredFrom && !inWindow(e));
  const mutedCount = episodes.filter((e) => e.firedAt >= data.scoredFrom && inWindow(e)).length;
  const belongs = (e: Episode, i: Incident) =>
    e.series === i.series && e.firedAt >= i.start && e.firedAt < i.end + GRACE_MINUTES;
  let truePositives = 0;
  for (const e of scoredEpisodes) {
    if (scoredIncidents.some((i) => belongs(e, i))) truePositives++;
  }
  const delays: number[] = [];
  const resets: number[] = [];
  const deepDropDelays: number[] = [];
  const recallByKind = Object.fromEntries(
    (["drop", "spike", "level_shift", "drift", "outage", "missing"] as const).map((k) => [
      k,
      { incidents: 0, detected: 0 },
    ]),
  ) as Score["recallByKind"];
  let detected = 0;
  for (const i of scoredIncidents) {
    recallByKind[i.kind].incidents++;
    const first = scoredEpisodes.filter((e) =>
      belongs(e, i)
    ).sort((a, b) => a.firedAt - b.firedAt)[0];
    if (!first) continue;
    detected++;
    recallByKind[i.kind].detected++;
    const delay = first.firedAt - i.start + 1;
    delays.push(delay);
    if ((i.kind === "drop" || i.kind === "outage") && i.factor < 0.5) deepDropDelays.push(delay);
    if (first.resolvedAt !== null) resets.push(first.resolvedAt - i.end);
  }
  const falsePositives = scoredEpisodes.length - truePositives;
  const precision = scoredEpisodes.length === 0 ? 0 : truePositives / scoredEpisodes.length;
  const recall = scoredIncidents.length === 0 ? 0 : detected / scoredIncidents.length;
  const weeks = (data.minutes - data.scoredFrom) / WEEK_MINUTES;
  return {
    muted: mutedCount,
    incidents: scoredIncidents.length,
    detected,
    episodes: scoredEpisodes.length,
    truePositives,
    falsePositives,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    delays,
    resets,
    falsePositivesPerWeek: falsePositives / weeks,
    deepDropDelays,
    recallByKind,
  };
}

/** One step of the storm ladder: which noise controls are on. */
export interface StormControls {
  dedup: boolean;
  cooldown: boolean;
  grouping: boolean;
  inhibition: boolean;
}

/** What a storm replay sent. */
export interface StormResult {
  notifications: number;
  alertsCarried: number;
  suppressed: Record<string, number>;
}

/** The storm: which alerts fire, minute by minute, from which source. */
export interface Storm {
  minutes: number;
  /** Alerts active at a minute, each with the source that reports it. */
  at(minute: number): { alert: ActiveAlert; source: string }[];
}

/**
 * A replayed outage: the database goes down for 40 minutes (DatabaseDown fires from Prometheus
 * through Alertmanager), and every function of every shop trips its symptoms (error ratio,
 * latency, order drop, checkout failures), several reported by both the SQL rules and
 * Alertmanager, several flapping at the edges of the outage.
 */
export function outageStorm(
  { shops = 8, functions = ["api", "export", "metrics", "alerts", "health"], seed = 7 } = {},
): Storm {
  const random = prng(seed);
  type Entry = {
    labels: Record<string, string>;
    sources: string[];
    from: number;
    to: number;
    flap: number;
  };
  const entries: Entry[] = [
    {
      labels: { alertname: "DatabaseDown", severity: "critical", team: "platform" },
      sources: ["alertmanager"],
      from: 2,
      to: 42,
      flap: 0,
    },
  ];
  for (let s = 1; s <= shops; s++) {
    for (const fn of functions) {
      for (
        const [alertname, severity, team, sources] of [
          ["HighErrorRatio", "warning", "platform", ["sql", "alertmanager"]],
          ["HighLatencyP99", "warning", "platform", ["sql", "alertmanager"]],
        ] as const
      ) {
        entries.push({
          labels: { alertname, severity, team, shop: `shop-${s}`, function: fn },
          sources: [...sources],
          from: 3 + Math.floor(random() * 3),
          to: 40 + Math.floor(random() * 6),
          flap: random() < 0.3 ? 0.25 : 0,
        });
      }
    }
    for (
      const [alertname, severity] of [["OrderDrop", "critical"], [
        "CheckoutFailureRatioHigh",
        "critical",
      ], ["RevenueDrop", "warning"]] as const
    ) {
      entries.push({
        labels: { alertname, severity, team: "business", shop: `shop-${s}` },
        sources: ["sql"],
        from: 4 + Math.floor(random() * 4),
        to: 44 + Math.floor(random() * 8),
        flap: random() < 0.3 ? 0.2 : 0,
      });
    }
  }
  const flapRandom = prng(seed + 1);
  const flaps = entries.map(() => Array.from({ length: 90 }, () => flapRandom()));
  return {
    minutes: 90,
    at(minute) {
      const out: { alert: ActiveAlert; source: string }[] = [];
      entries.forEach((e, index) => {
        if (minute < e.from) return;
        const inside = minute < e.to && !(e.flap > 0 && flaps[index][minute] < e.flap);
        // A flapping symptom drops out for a minute now and then; after `to` it has resolved.
        const status = inside ? "firing" : "resolved";
        if (minute >= e.to + 10) return;
        for (const source of e.sources) {
          out.push({
            source,
            alert: {
              fingerprint: fingerprint(e.labels),
              labels: e.labels,
              annotations: { summary: e.labels.alertname },
              status,
              startsAt: e.from * MINUTE,
              endsAt: inside ? null : (minute >= e.to ? e.to : minute) * MINUTE,
              value: null,
            },
          });
        }
      });
      return out;
    },
  };
}

/**
 * Replays `storm` through the planner with some noise controls on. Without dedup each source's
 * report is its own alert; without cooldown an unchanged group is re-sent at every evaluation;
 * without grouping each alert is its own group sent at once; without inhibition no cause mutes.
 */
export function replayStorm(
  storm: Storm,
  controls: StormControls,
  route: Route,
  inhibitRules: InhibitRule[],
): StormResult {
  const effectiveRoute: Route = {
    groupBy: controls.grouping ? route.groupBy : ["..."],
    groupWaitMs: controls.grouping ? route.groupWaitMs : 0,
    groupIntervalMs: controls.grouping ? route.groupIntervalMs : 0,
    repeatIntervalMs: controls.cooldown ? route.repeatIntervalMs : 0,
  };
  let groups: GroupState[] = [];
  let notifications = 0;
  let alertsCarried = 0;
  const suppressed: Record<string, number> = {};
  const delivered = new Set<string>();
  for (let minute = 0; minute < storm.minutes; minute++) {
    const reports = storm.at(minute);
    const alerts: ActiveAlert[] = [];
    const seen = new Set<string>();
    for (const { alert, source } of reports) {
      if (controls.dedup) {
        if (seen.has(alert.fingerprint)) {
          suppressed.dedup = (suppressed.dedup ?? 0) + 1;
          continue;
        }
        seen.add(alert.fingerprint);
        alerts.push(alert);
      } else {
        const labels = { ...alert.labels, source };
        alerts.push({ ...alert, labels, fingerprint: fingerprint(labels) });
      }
    }
    const pending = alerts.filter((a) =>
      a.status === "firing" || !delivered.has(a.fingerprint + a.endsAt)
    );
    const plan = planNotifications({
      now: minute * MINUTE,
      alerts: pending,
      groups,
      route: effectiveRoute,
      inhibitRules: controls.inhibition ? inhibitRules : [],
    });
    groups = plan.groups;
    for (const f of plan.deliveredResolved) {
      const a = pending.find((x) => x.fingerprint === f);
      if (a) delivered.add(f + a.endsAt);
    }
    notifications += plan.notifications.length;
    alertsCarried += plan.notifications.reduce((n, x) => n + x.alerts.length, 0);
    for (const [reason, count] of Object.entries(plan.suppressed)) {
      suppressed[reason] = (suppressed[reason] ?? 0) + count;
    }
  }
  return { notifications, alertsCarried, suppressed };
}
