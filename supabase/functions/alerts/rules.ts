/**
 * The alert rules' configuration: its zod schema, and {@linkcode parseRuleConfig}, which turns a
 * parsed document into typed rules or throws one {@linkcode RuleConfigError} listing one clear
 * message per bad rule (`rules[2] (OrderDrop): threshold: expected number`). The source is
 * config/alerting/rules.yaml; `deno task alerts:rules` validates it and writes the JSON module the
 * function imports (functions cannot read files outside supabase/functions once deployed).
 * @module
 */
import { z } from "zod";
import type { Detector } from "./detectors.ts";
import { type Matcher, MatcherSyntaxError, parseMatchers } from "./matchers.ts";
import type { InhibitRule, Route } from "./noise.ts";

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Milliseconds of a Prometheus duration (`90s`, `5m`, `1h30m`, `0`).
 *
 * @example
 * ```ts
 * parseDuration("1h30m"); // 5_400_000
 * ```
 */
export function parseDuration(text: string): number {
  if (text === "0") return 0;
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new RangeError(`invalid duration "${text}" (use e.g. 30s, 5m, 1h30m)`);
  }
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * UNITS[unit], 0);
}

const duration = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

const matcherList = z.array(z.string()).min(1).transform((list, ctx) => {
  const out: Matcher[] = [];
  for (const text of list) {
    try {
      out.push(...parseMatchers(text));
    } catch (error) {
      if (!(error instanceof MatcherSyntaxError)) throw error;
      ctx.addIssue({
        code: "custom",
        message: `matcher ${JSON.stringify(text)}: ${error.message}`,
      });
    }
  }
  return out;
});

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, "not a label name");
const labelMap = z.record(labelName, z.string());

const signal = z.union([
  z.strictObject({
    /** SQL returning a `value` column (double precision) and text columns as labels; $1 is the instant. */
    sql: z.string().min(1),
    /** The columns are running totals; the rule sees their increase over this duration. */
    increase_over: duration.optional(),
  }),
  z.strictObject({
    /** A PromQL instant query, sent to COMPTOIR_PROMETHEUS_URL. */
    promql: z.string().min(1),
  }),
]);

const common = {
  name: z.string().regex(/^[A-Z][A-Za-z0-9]*$/, "must be an alert name in CamelCase"),
  signal,
  for: duration.default(0),
  keep_firing_for: duration.default(0),
  /** How long a series may stop reporting before it is in `nodata`; 0: never. */
  no_data_for: duration.default(0),
  labels: labelMap.default({}),
  annotations: z.strictObject({
    summary: z.string().min(1),
    description: z.string().min(1),
    runbook_url: z.string().url(),
  }),
};

const dynamic = {
  direction: z.enum(["above", "below", "both"]),
  threshold: z.number().positive(),
  min_delta: z.number().nonnegative().default(0),
};

const ruleSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    ...common,
    kind: z.literal("static"),
    direction: z.enum(["above", "below"]),
    threshold: z.number(),
  }),
  z.strictObject({
    ...common,
    ...dynamic,
    kind: z.literal("zscore"),
    window: z.number().int().min(3),
    min_samples: z.number().int().min(2).default(10),
  }),
  z.strictObject({
    ...common,
    ...dynamic,
    kind: z.literal("robust_zscore"),
    window: z.number().int().min(3),
    min_samples: z.number().int().min(3).default(10),
  }),
  z.strictObject({
    ...common,
    ...dynamic,
    kind: z.literal("seasonal"),
    weeks: z.number().int().min(1).max(12),
    neighbours: z.number().int().min(0).max(30).default(2),
    min_samples: z.number().int().min(3).default(6),
    min_traffic: z.number().nonnegative().default(0),
    min_relative_change: z.number().nonnegative().default(0),
    /** The signal counts events: its spread is at least the Poisson deviation. */
    counts: z.boolean().default(false),
    /** A drop of at least this fraction is judged against the counting noise alone; 0: off. */
    deep_drop: z.number().min(0).max(1).default(0),
    /** The day's level over this span of recent evaluations scales the baseline; 0: off. */
    level_window: duration.default(0),
    level_skip: duration.default(30 * 60_000),
    level_min_samples: z.number().int().min(1).default(30),
    level_bounds: z.tuple([z.number().positive().max(1), z.number().min(1)]).default([0.5, 2]),
  }),
]);

const documentSchema = z.strictObject({
  route: z.strictObject({
    group_by: z.array(z.union([labelName, z.literal("...")])).min(1),
    group_wait: duration,
    group_interval: duration,
    repeat_interval: duration,
  }),
  inhibit_rules: z.array(z.strictObject({
    source_matchers: matcherList,
    target_matchers: matcherList,
    equal: z.array(labelName).default([]),
  })).default([]),
  /** Instants missed while evaluation was down that are replayed (state only) on the next run. */
  catch_up: z.number().int().min(0).max(60).default(10),
  rules: z.array(z.unknown()),
});

/** Where a rule's values come from. */
export type Signal =
  | { kind: "sql"; sql: string; increaseOverMs: number | null }
  | { kind: "promql"; promql: string };

/** One validated rule. */
export interface Rule {
  name: string;
  kind: Detector["kind"];
  signal: Signal;
  detector: Detector;
  forMs: number;
  keepFiringForMs: number;
  noDataForMs: number;
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
  /** Instants of history a rolling window needs (0 for static and seasonal). */
  historyWindow: number;
}

/** The whole configuration. */
export interface RuleConfig {
  route: Route;
  inhibitRules: InhibitRule[];
  catchUp: number;
  rules: Rule[];
}

/** A configuration with errors; `problems` has one line per bad rule (or section). */
export class RuleConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid alert rules:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "RuleConfigError";
    this.problems = problems;
  }
}

/**
 * Validates a parsed rules document (from YAML or JSON).
 *
 * @example
 * ```ts
 * const config = parseRuleConfig(parseYaml(await Deno.readTextFile("config/alerting/rules.yaml")));
 * config.rules.map((r) => r.name);
 * ```
 */
export function parseRuleConfig(document: unknown): RuleConfig {
  const problems: string[] = [];
  const top = documentSchema.safeParse(document);
  if (!top.success) {
    for (const issue of top.error.issues) problems.push(describe(issue.path, issue.message));
    throw new RuleConfigError(problems);
  }
  const rules: Rule[] = [];
  const seen = new Set<string>();
  top.data.rules.forEach((raw, index) => {
    const name = (raw as { name?: unknown })?.name;
    const where = `rules[${index}]${typeof name === "string" ? ` (${name})` : ""}`;
    const parsed = ruleSchema.safeParse(raw);
    if (!parsed.success) {
      const messages = parsed.error.issues.map((i) => describe(i.path, i.message));
      problems.push(`${where}: ${messages.join("; ")}`);
      return;
    }
    const rule = parsed.data;
    if (rule.kind === "seasonal" && "sql" in rule.signal && rule.signal.increase_over) {
      problems.push(
        `${where}: signal: a seasonal rule needs a signal it can query at past instants (no increase_over)`,
      );
      return;
    }
    if (
      rule.kind === "seasonal" && rule.level_window > 0 && rule.level_skip >= rule.level_window
    ) {
      problems.push(`${where}: level_skip: must be shorter than level_window`);
      return;
    }
    const identity = JSON.stringify([rule.name, rule.labels]);
    if (seen.has(identity)) {
      problems.push(`${where}: another rule has the same name and labels`);
      return;
    }
    seen.add(identity);
    if ("labels" in rule && "alertname" in rule.labels) {
      problems.push(`${where}: labels: alertname is the rule's name, do not set it`);
      return;
    }
    rules.push(toRule(rule));
  });
  if (problems.length > 0) throw new RuleConfigError(problems);
  const { route, inhibit_rules, catch_up } = top.data;
  return {
    route: {
      groupBy: route.group_by,
      groupWaitMs: route.group_wait,
      groupIntervalMs: route.group_interval,
      repeatIntervalMs: route.repeat_interval,
    },
    inhibitRules: inhibit_rules.map((r) => ({
      sourceMatchers: r.source_matchers,
      targetMatchers: r.target_matchers,
      equal: r.equal,
    })),
    catchUp: catch_up,
    rules,
  };
}

function toRule(rule: z.output<typeof ruleSchema>): Rule {
  const base = {
    name: rule.name,
    kind: rule.kind,
    signal: "sql" in rule.signal
      ? {
        kind: "sql" as const,
        sql: rule.signal.sql,
        increaseOverMs: rule.signal.increase_over ?? null,
      }
      : { kind: "promql" as const, promql: rule.signal.promql },
    forMs: rule.for,
    keepFiringForMs: rule.keep_firing_for,
    noDataForMs: rule.no_data_for,
    labels: rule.labels,
    annotations: rule.annotations,
  };
  switch (rule.kind) {
    case "static":
      return {
        ...base,
        historyWindow: 0,
        detector: { kind: "static", direction: rule.direction, threshold: rule.threshold },
      };
    case "zscore":
    case "robust_zscore":
      return {
        ...base,
        historyWindow: rule.window,
        detector: {
          kind: rule.kind,
          direction: rule.direction,
          threshold: rule.threshold,
          window: rule.window,
          minSamples: rule.min_samples,
          minDelta: rule.min_delta,
        },
      };
    case "seasonal":
      return {
        ...base,
        historyWindow: 0,
        detector: {
          kind: "seasonal",
          direction: rule.direction,
          threshold: rule.threshold,
          weeks: rule.weeks,
          neighbours: rule.neighbours,
          minSamples: rule.min_samples,
          minTraffic: rule.min_traffic,
          minRelativeChange: rule.min_relative_change,
          minDelta: rule.min_delta,
          counts: rule.counts,
          deepDrop: rule.deep_drop,
          levelWindowMs: rule.level_window,
          levelSkipMs: rule.level_skip,
          levelMinSamples: rule.level_min_samples,
          levelBounds: rule.level_bounds,
        },
      };
  }
}

function describe(path: readonly PropertyKey[], message: string): string {
  const where = path.map((p) => typeof p === "number" ? `[${p}]` : `.${String(p)}`).join("")
    .replace(/^\./, "");
  return where ? `${where}: ${message}` : message;
}
