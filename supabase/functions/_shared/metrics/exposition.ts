/**
 * Renders samples of the contract families as the Prometheus text format 0.0.4, or as OpenMetrics
 * 1.0 when the scraper asks for it: one `# HELP` and one `# TYPE` per family, samples without
 * timestamps, histogram buckets cumulative in `le` order then `_sum` and `_count`, and for
 * OpenMetrics the family name without `_total` in the metadata and a final `# EOF`.
 * @module
 */
import { FAMILIES, type MetricFamily } from "./families.ts";

/** A sample to render. */
export interface ExpositionSample {
  /** Sample name: the family's, or with `_bucket` / `_sum` / `_count` for histograms. */
  name: string;
  /** Rendered label pairs without `le` (already bounded and escaped). */
  labels: string;
  /** Upper bound of a `_bucket` sample; empty otherwise. */
  le: string;
  value: number;
}

/** The two exposition formats. */
export type ExpositionFormat = "prometheus" | "openmetrics";

/** Content type of each format. */
export const EXPOSITION_CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: "text/plain; version=0.0.4; charset=utf-8",
  openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

/**
 * The format an `Accept` header asks for: OpenMetrics when it names
 * `application/openmetrics-text` with a non-zero quality (Prometheus does), else text 0.0.4.
 *
 * @example
 * ```ts
 * negotiateExposition("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"); // "openmetrics"
 * ```
 */
export function negotiateExposition(accept: string | null | undefined): ExpositionFormat {
  for (const part of (accept ?? "").split(",")) {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (type !== "application/openmetrics-text") continue;
    const q = params.find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return "openmetrics";
  }
  return "prometheus";
}

const SUFFIXES = ["_bucket", "_sum", "_count"] as const;

/**
 * Renders `samples`. Samples of names outside the contract are ignored; a family appears only
 * when it has samples (callers add the zeros of always-present families).
 *
 * @example
 * ```ts
 * renderExposition([{ name: "comptoir_db_up", labels: "", le: "", value: 1 }], "prometheus");
 * // "# HELP comptoir_db_up Whether the database answered during this scrape.\n# TYPE ..."
 * ```
 */
export function renderExposition(
  samples: Iterable<ExpositionSample>,
  format: ExpositionFormat = "prometheus",
): string {
  const byFamily = new Map<string, ExpositionSample[]>();
  const familyOf = familyIndex();
  for (const sample of samples) {
    const family = familyOf.get(sample.name);
    if (!family) continue;
    let list = byFamily.get(family.name);
    if (!list) byFamily.set(family.name, list = []);
    list.push(sample);
  }
  const om = format === "openmetrics";
  const lines: string[] = [];
  for (const family of FAMILIES) {
    const list = byFamily.get(family.name);
    if (!list || list.length === 0) continue;
    const metaName = om && family.type === "counter"
      ? family.name.replace(/_total$/, "")
      : family.name;
    lines.push(`# HELP ${metaName} ${escapeHelp(family.help, om)}`);
    lines.push(`# TYPE ${metaName} ${family.type}`);
    if (family.type === "histogram") renderHistogram(family, list, lines);
    else {
      list.sort((a, b) => compare(a.labels, b.labels));
      for (const s of list) lines.push(line(s.name, s.labels, "", s.value));
    }
  }
  if (om) lines.push("# EOF");
  return lines.join("\n") + "\n";
}

/**
 * Formats a sample value like Prometheus' Go client: integers plainly, `+Inf`, `-Inf`, `NaN`.
 *
 * @example
 * ```ts
 * formatValue(Infinity); // "+Inf"
 * ```
 */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function renderHistogram(family: MetricFamily, list: ExpositionSample[], lines: string[]): void {
  const bySeries = new Map<string, ExpositionSample[]>();
  for (const s of list) {
    let series = bySeries.get(s.labels);
    if (!series) bySeries.set(s.labels, series = []);
    series.push(s);
  }
  const order = [...(family.buckets ?? []).map((b) => String(b)), "+Inf"];
  for (const labels of [...bySeries.keys()].sort(compare)) {
    const series = bySeries.get(labels)!;
    const buckets = new Map<string, number>();
    let sum = 0;
    let count: number | undefined;
    for (const s of series) {
      if (s.name.endsWith("_bucket")) buckets.set(s.le, s.value);
      else if (s.name.endsWith("_sum")) sum = s.value;
      else if (s.name.endsWith("_count")) count = s.value;
    }
    // Buckets are cumulative: a bound missing from the store (a bucket added later) takes the
    // count of the bound below it, so the series stays monotonic in `le`.
    let running = 0;
    for (const le of order) {
      running = Math.max(running, buckets.get(le) ?? running);
      lines.push(line(`${family.name}_bucket`, labels, le, running));
    }
    lines.push(line(`${family.name}_sum`, labels, "", sum));
    lines.push(line(`${family.name}_count`, labels, "", count ?? running));
  }
}

function line(name: string, labels: string, le: string, value: number): string {
  const pairs = le === "" ? labels : labels === "" ? `le="${le}"` : `${labels},le="${le}"`;
  return `${name}${pairs === "" ? "" : `{${pairs}}`} ${formatValue(value)}`;
}

function escapeHelp(help: string, om: boolean): string {
  const escaped = help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return om ? escaped.replace(/"/g, '\\"') : escaped;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

let index: Map<string, MetricFamily> | undefined;

function familyIndex(): Map<string, MetricFamily> {
  if (!index) {
    index = new Map();
    for (const family of FAMILIES) {
      if (family.type === "histogram") {
        for (const suffix of SUFFIXES) index.set(family.name + suffix, family);
      } else {
        index.set(family.name, family);
      }
    }
  }
  return index;
}
