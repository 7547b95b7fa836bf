/**
 * `deno task bench:alerts`: the measured noise report of the alerting service. Generates the
 * synthetic data set (scripts/lib/alert_replay.ts), replays every rule kind over it through the
 * alerts function's evaluation code, scores each against the labelled incidents, replays an
 * outage storm through the notification planner with the noise controls switched on one by one,
 * prints the figures and writes docs/benchmarks/alerting.md.
 *
 *   deno task bench:alerts [--weeks 9] [--seed 20261204] [--out docs/benchmarks/alerting.md]
 * @module
 */
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { runMain } from "../lib/command.ts";
import {
  type Dataset,
  generateDataset,
  GRACE_MINUTES,
  outageStorm,
  replayRule,
  replayStorm,
  type Score,
  score,
  type StormControls,
  WEEK_MINUTES,
} from "../lib/alert_replay.ts";
import { parseRuleConfig, type Rule } from "../../supabase/functions/alerts/rules.ts";

const ROOT = new URL("../../", import.meta.url);
const MIN = 60_000;

type BenchRule = Pick<
  Rule,
  "detector" | "forMs" | "keepFiringForMs" | "noDataForMs" | "historyWindow"
>;

/** The rule of each kind replayed: the shipped kinds' settings, on a one-minute signal. */
const RULES: { name: string; rule: BenchRule; threshold?: (level: number) => number }[] = [
  {
    name: "static (below 5 % of the series' peak)",
    rule: {
      detector: { kind: "static", direction: "below", threshold: 0 },
      forMs: MIN,
      keepFiringForMs: 5 * MIN,
      noDataForMs: 5 * MIN,
      historyWindow: 0,
    },
    threshold: (level) => level * 0.05,
  },
  ...(["zscore", "robust_zscore"] as const).map((kind) => ({
    name: kind === "zscore"
      ? "zscore (60 min window, abs z ≥ 4)"
      : "robust_zscore (60 min window, median/MAD, abs z ≥ 4)",
    rule: {
      detector: { kind, direction: "both", threshold: 4, window: 60, minSamples: 15, minDelta: 0 },
      forMs: MIN,
      keepFiringForMs: 5 * MIN,
      noDataForMs: 5 * MIN,
      historyWindow: 60,
    } satisfies BenchRule,
  })),
  {
    name: "seasonal robust (4 weeks × ±2 min, abs z ≥ 3.5, ≥ 40 % change)",
    rule: {
      detector: {
        kind: "seasonal",
        direction: "both",
        threshold: 3.5,
        weeks: 4,
        neighbours: 2,
        minSamples: 8,
        minTraffic: 5,
        minRelativeChange: 0.4,
        minDelta: 0,
      },
      forMs: MIN,
      keepFiringForMs: 5 * MIN,
      noDataForMs: 5 * MIN,
      historyWindow: 0,
    },
  },
];

const LADDER: { name: string; controls: StormControls }[] = [
  { name: "none", controls: { dedup: false, cooldown: false, grouping: false, inhibition: false } },
  {
    name: "+ dedup",
    controls: { dedup: true, cooldown: false, grouping: false, inhibition: false },
  },
  {
    name: "+ cooldown",
    controls: { dedup: true, cooldown: true, grouping: false, inhibition: false },
  },
  {
    name: "+ grouping",
    controls: { dedup: true, cooldown: true, grouping: true, inhibition: false },
  },
  {
    name: "+ inhibition",
    controls: { dedup: true, cooldown: true, grouping: true, inhibition: true },
  },
];

const fmt = (x: number, digits = 3) => Number.isFinite(x) ? x.toFixed(digits) : "–";
const med = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const max = (xs: number[]) => xs.length === 0 ? NaN : Math.max(...xs);

await runMain(async () => {
  const { values } = parseArgs({
    options: {
      weeks: { type: "string", default: "9" },
      seed: { type: "string", default: "20261204" },
      out: { type: "string", default: "docs/benchmarks/alerting.md" },
    },
  });
  const started = performance.now();
  const data = generateDataset({ weeks: Number(values.weeks), seed: Number(values.seed) });
  const generatedMs = performance.now() - started;
  console.log(
    `data set: ${data.series.length} series × ${data.minutes} minutes (${values.weeks} weeks), ` +
      `${data.incidents.filter((i) => i.start >= data.scoredFrom).length} scored incidents, ` +
      `generated in ${fmt(generatedMs / 1000, 1)} s`,
  );

  const scores: { name: string; score: Score; silenced: Score; ms: number }[] = [];
  for (const { name, rule, threshold } of RULES) {
    const t0 = performance.now();
    const episodes = replayRule(data, rule, threshold);
    const result = score(data, episodes);
    const silenced = score(data, episodes, data.specialDays);
    const ms = performance.now() - t0;
    scores.push({ name, score: result, silenced, ms });
    for (const [view, s] of [["", result], [", holidays silenced", silenced]] as const) {
      console.log(
        `${name}${view}: precision ${fmt(s.precision)} recall ${fmt(s.recall)} ` +
          `F1 ${fmt(s.f1)} delay median ${fmt(med(s.delays), 1)} evaluations, ` +
          `FP/week ${fmt(s.falsePositivesPerWeek, 2)}`,
      );
    }
  }

  const shipped = parseRuleConfig(
    parse(await Deno.readTextFile(new URL("config/alerting/rules.yaml", ROOT))),
  );
  const storm = outageStorm();
  const ladder = LADDER.map(({ name, controls }) => ({
    name,
    result: replayStorm(storm, controls, shipped.route, shipped.inhibitRules),
  }));
  const baseline = ladder[0].result.notifications;
  for (const { name, result } of ladder) {
    console.log(
      `storm, noise control ${name}: ${result.notifications} notifications ` +
        `(${fmt(100 * (1 - result.notifications / baseline), 1)} % fewer than none)`,
    );
  }

  const report = renderReport(data, scores, ladder, shipped.route, Number(values.seed));
  await Deno.writeTextFile(new URL(values.out!, ROOT), report);
  console.log(`wrote ${values.out}`);
});

function renderReport(
  data: Dataset,
  scores: { name: string; score: Score; silenced: Score; ms: number }[],
  ladder: { name: string; result: ReturnType<typeof replayStorm> }[],
  route: {
    groupBy: readonly string[];
    groupWaitMs: number;
    groupIntervalMs: number;
    repeatIntervalMs: number;
  },
  seed: number,
): string {
  const weeks = data.minutes / WEEK_MINUTES;
  const scoredWeeks = (data.minutes - data.scoredFrom) / WEEK_MINUTES;
  const seasonalRaw = scores[scores.length - 1].score;
  const seasonal = scores[scores.length - 1].silenced;
  const baseline = ladder[0].result.notifications;
  const final = ladder[ladder.length - 1].result.notifications;
  const reduction = 1 - final / baseline;
  const kinds = Object.keys(seasonal.recallByKind) as (keyof Score["recallByKind"])[];
  const lines = [
    "# Alerting: measured noise report",
    "",
    "Written by `deno task bench:alerts` (scripts/bench/alerts.ts); every figure below comes from",
    `that run (seed ${seed}). The replay runs the alerts function's own code`,
    "(`supabase/functions/alerts/evaluate_series.ts`: detectors and state machine;",
    "`noise.ts`: silences, inhibition, grouping, cooldown) minute by minute; it is a pure computation,",
    "so the figures do not depend on the machine's load.",
    "",
    "## Data set",
    "",
    `${data.series.length} synthetic shop signals (peaks of ${
      data.series.map((s) => s.level).join(", ")
    } per minute) over`,
    `${weeks} weeks at one-minute resolution (${data.minutes} points each): a daily profile (quiet`,
    "nights at 8 % of the peak, lunch and evening peaks), a weekly profile (Saturday +25 %), a 1 % weekly",
    "trend, Poisson-like noise plus 3 %, unlabelled one-minute bursts (−40 % / +50 %, 0.2 % of minutes),",
    "two holidays (−30 %) and a sale day (+30 %), which are unusual but not incidents. Incidents are",
    "labelled, in business hours (07:00–23:00), at least a day apart: drops (to 10–45 % for",
    "20–60 min), spikes (×1.8–2.6 for 10–30 min), level shifts (to 40–50 % for 3–6 h), slow drifts",
    "(down to 30–40 % over 2–3 h), outages (0 for 15–45 min) and missing data (no value for",
    `20–40 min). The first ${
      data.scoredFrom / WEEK_MINUTES
    } weeks (with two unscored incidents per series) are the seasonal`,
    `baseline; the last ${scoredWeeks} weeks are scored: ${seasonal.incidents} incidents.`,
    "",
    "Scoring: a firing episode (pending → firing … resolved, or a no-data alert) is a true positive",
    `when it starts inside an incident of its series or within ${GRACE_MINUTES} minutes after its end, otherwise`,
    "a false positive. An incident is detected when at least one episode belongs to it. Delay: evaluations",
    "from the incident's start to the firing (1 = the first evaluation inside it); reset: evaluations",
    "from the incident's end to the resolution (negative: resolved before the labelled end, e.g. a",
    "rolling window that has adapted to a level shift). Every rule here has `for: 1m`,",
    "`keep_firing_for: 5m` and `no_data_for: 5m`, and evaluates every minute.",
    "",
    "## Per rule kind",
    "",
    "Two views of the same replay. *Raw*: every episode counts, those on the holidays and the sale",
    "day included (the seasonal rule sees a −30 % day as unusual, and it is). *Holidays silenced*:",
    "the episodes that start on those three days are left out, which is what a shop gets by",
    "creating a silence for its known holidays and sales ahead (`deno task alerts:silence`, like a",
    "maintenance window); the muted column counts them.",
    "",
    "| rule | view | precision | recall | F1 | delay (median / max, evaluations) | reset (median) | false positives / week | fired | muted |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...scores.flatMap(({ name, score: raw, silenced }) =>
      ([["raw", raw], ["holidays silenced", silenced]] as const).map(([view, s]) =>
        `| ${name} | ${view} | ${fmt(s.precision)} | ${fmt(s.recall)} | ${fmt(s.f1)} | ${
          fmt(med(s.delays), 1)
        } / ${fmt(max(s.delays), 0)} | ${fmt(med(s.resets), 1)} | ${
          fmt(s.falsePositivesPerWeek, 2)
        } | ${s.episodes} | ${s.muted} |`
      )
    ),
    "",
    `Replay time per rule (${data.series.length} × ${data.minutes} evaluations): ${
      scores.map((s) => `${s.name.split(" ")[0]} ${fmt(s.ms / 1000, 1)} s`).join(", ")
    }.`,
    "",
    "Recall per incident kind (detected / incidents, holidays silenced):",
    "",
    `| rule | ${kinds.join(" | ")} |`,
    `| --- | ${kinds.map(() => "---").join(" | ")} |`,
    ...scores.map(({ name, silenced: s }) =>
      `| ${name} | ${
        kinds.map((k) => `${s.recallByKind[k].detected} / ${s.recallByKind[k].incidents}`).join(
          " | ",
        )
      } |`
    ),
    "",
    "## Targets",
    "",
    "| target | measured | met |",
    "| --- | --- | --- |",
    `| seasonal robust rule: precision ≥ 0.8 at recall ≥ 0.9 (holidays silenced) | precision ${
      fmt(seasonal.precision)
    }, recall ${fmt(seasonal.recall)} | ${
      seasonal.precision >= 0.8 && seasonal.recall >= 0.9 ? "yes" : "no"
    } |`,
    `| the same, raw (holidays and sale day not silenced) | precision ${
      fmt(seasonalRaw.precision)
    }, recall ${fmt(seasonalRaw.recall)} | ${
      seasonalRaw.precision >= 0.8 && seasonalRaw.recall >= 0.9 ? "yes" : "no"
    } |`,
    `| drops of more than half detected within two evaluations (seasonal robust rule) | ${seasonal.deepDropDelays.length} drops and outages below half: delays ${
      [...seasonal.deepDropDelays].sort((a, b) => a - b).join(", ")
    } | ${
      seasonal.deepDropDelays.length > 0 && max(seasonal.deepDropDelays) <= 2 ? "yes" : "no"
    } |`,
    `| alert storm reduced by ≥ 80 % | ${baseline} → ${final} notifications (${
      fmt(100 * reduction, 1)
    } % fewer) | ${reduction >= 0.8 ? "yes" : "no"} |`,
    `| fewer than 20 % of fired alerts are false (seasonal robust rule, holidays silenced) | ${seasonal.falsePositives} of ${seasonal.episodes} (${
      fmt(100 * (seasonal.episodes ? seasonal.falsePositives / seasonal.episodes : 0), 1)
    } %) | ${
      seasonal.episodes > 0 && seasonal.falsePositives / seasonal.episodes < 0.2 ? "yes" : "no"
    } |`,
    "",
    "## Alert storm",
    "",
    "A replayed outage: the database is down for 40 minutes (DatabaseDown, from Prometheus through",
    "Alertmanager); on 8 shops × 5 functions HighErrorRatio and HighLatencyP99 fire, each reported by",
    "both a SQL rule and Alertmanager (same labels, so the same fingerprint), and per shop OrderDrop,",
    "CheckoutFailureRatioHigh and RevenueDrop fire from the SQL rules; about 30 % of the symptoms flap",
    "(drop out for a minute now and then). 90 evaluations, one a minute. The route and inhibition",
    `rules are the shipped ones (config/alerting/rules.yaml: group by ${
      route.groupBy.join(", ")
    }, group_wait`,
    `${route.groupWaitMs / 1000} s, group_interval ${
      route.groupIntervalMs / 60000
    } min, repeat_interval ${route.repeatIntervalMs / 3_600_000} h).`,
    "Without a control: without dedup each source's report is its own alert; without cooldown an",
    "unchanged alert is sent again at every evaluation; without grouping each alert is its own",
    "notification, sent at once; without inhibition nothing mutes the symptoms of DatabaseDown.",
    "",
    "| noise control | notifications | alerts carried | fewer than none |",
    "| --- | --- | --- | --- |",
    ...ladder.map(({ name, result }) =>
      `| ${name} | ${result.notifications} | ${result.alertsCarried} | ${
        fmt(100 * (1 - result.notifications / baseline), 1)
      } % |`
    ),
    "",
    `Suppressed with every control on: ${
      Object.entries(ladder[ladder.length - 1].result.suppressed).map(([k, v]) => `${k} ${v}`).join(
        ", ",
      )
    }.`,
    "",
    "## Public labelled data set",
    "",
    "None was run: no npm package in the registry list searched ships a labelled time-series anomaly",
    "data set (packages matching anomaly / outlier are algorithms, e.g. isolation-forest, outliers),",
    "and the registry's search endpoint answered 404 from here. The Numenta Anomaly Benchmark and",
    "Yahoo S5 are not published as npm packages.",
    "",
  ];
  return lines.join("\n");
}
