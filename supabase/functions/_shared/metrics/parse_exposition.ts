/**
 * A strict reader of the text exposition formats (Prometheus 0.0.4 and OpenMetrics 1.0) for the
 * tools that check the `metrics` function from outside: `scripts/monitoring_verify.ts`, the
 * benchmarks and the end-to-end tests. It refuses what Prometheus would refuse — a sample before
 * its family's `# TYPE`, a family declared twice, a malformed line — and checks that histograms
 * are consistent (cumulative buckets ending in `+Inf`, `_count` equal to the `+Inf` bucket).
 * @module
 */

/** One parsed sample. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One parsed family. */
export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

/** What the reader found wrong, with the line number. */
export class ExpositionError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = "ExpositionError";
  }
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/**
 * Parses `text`; throws {@linkcode ExpositionError} on the first problem.
 *
 * @example
 * ```ts
 * const families = parseExposition(await (await fetch(url, { headers })).text());
 * families.get("comptoir_db_up")?.samples[0].value; // 1
 * ```
 */
export function parseExposition(
  text: string,
  { openMetrics = false }: { openMetrics?: boolean } = {},
): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let current: ParsedFamily | undefined;
  let sawEof = false;
  lines.forEach((raw, i) => {
    const n = i + 1;
    if (sawEof) throw new ExpositionError(n, "content after # EOF");
    if (raw === "# EOF") {
      if (!openMetrics) throw new ExpositionError(n, "# EOF in the 0.0.4 text format");
      sawEof = true;
      return;
    }
    const meta = /^# (HELP|TYPE|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(raw);
    if (meta) {
      const [, kind, name, rest = ""] = meta;
      let family = families.get(name);
      if (!family) {
        family = { name, type: "untyped", help: "", samples: [] };
        families.set(name, family);
      } else if (current !== family) {
        throw new ExpositionError(n, `family ${name} declared twice`);
      }
      if (kind === "TYPE") {
        if (
          !/^(counter|gauge|histogram|summary|untyped|unknown|info|stateset|gaugehistogram)$/.test(
            rest,
          )
        ) {
          throw new ExpositionError(n, `unknown type ${rest}`);
        }
        if (family.samples.length > 0) {
          throw new ExpositionError(n, `TYPE of ${name} after samples`);
        }
        family.type = rest;
      } else if (kind === "HELP") {
        family.help = rest;
      }
      current = family;
      return;
    }
    if (raw.startsWith("#")) {
      if (openMetrics) throw new ExpositionError(n, "comment lines are not allowed in OpenMetrics");
      return;
    }
    if (raw.trim() === "") {
      if (openMetrics) throw new ExpositionError(n, "empty line in OpenMetrics");
      return;
    }
    const match = SAMPLE.exec(raw);
    if (!match) throw new ExpositionError(n, `malformed sample: ${raw.slice(0, 120)}`);
    const [, name, , labelText = "", valueText, timestamp] = match;
    if (timestamp) throw new ExpositionError(n, "samples must not carry timestamps");
    const family = familyOf(name, current, openMetrics);
    if (!family) throw new ExpositionError(n, `sample ${name} outside its family's block`);
    family.samples.push({
      name,
      labels: parseLabels(labelText, n),
      value: parseValue(valueText, n),
    });
  });
  if (openMetrics && !sawEof) throw new ExpositionError(lines.length, "missing # EOF");
  for (const family of families.values()) {
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

/** The value of the sample `name{labels}` (labels matched exactly), or `undefined`. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length !== Object.keys(labels).length) continue;
      if (keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  return undefined;
}

function familyOf(
  name: string,
  current: ParsedFamily | undefined,
  openMetrics: boolean,
): ParsedFamily | undefined {
  if (!current) return undefined;
  if (name === current.name) return openMetrics && current.type === "counter" ? undefined : current;
  const suffixes = current.type === "histogram"
    ? ["_bucket", "_sum", "_count", "_created"]
    : current.type === "counter"
    ? ["_total", "_created"]
    : current.type === "summary"
    ? ["_sum", "_count", "_created"]
    : [];
  return suffixes.some((s) => name === current.name + s) ? current : undefined;
}

function parseLabels(text: string, line: number): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const start = LABEL.lastIndex;
    const match = LABEL.exec(text);
    if (!match) {
      throw new ExpositionError(line, `malformed labels at: ${text.slice(start, start + 60)}`);
    }
    const [, name, value] = match;
    if (name in labels) throw new ExpositionError(line, `label ${name} repeated`);
    labels[name] = value.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
  }
  return labels;
}

function parseValue(text: string, line: number): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const value = Number(text);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || Number.isNaN(value)) {
    throw new ExpositionError(line, `bad value ${text}`);
  }
  return value;
}

function checkHistogram(family: ParsedFamily): void {
  const series = new Map<string, { buckets: [number, number][]; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let entry = series.get(key);
    if (!entry) series.set(key, entry = { buckets: [] });
    if (s.name.endsWith("_bucket")) {
      if (le === undefined) throw new ExpositionError(0, `${s.name} without le`);
      entry.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith("_count")) {
      entry.count = s.value;
    }
  }
  for (const [key, { buckets, count }] of series) {
    const where = `${family.name}${key}`;
    if (buckets.length === 0 || buckets.at(-1)![0] !== Infinity) {
      throw new ExpositionError(0, `${where}: buckets must end with le="+Inf"`);
    }
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i][0] > buckets[i - 1][0])) {
        throw new ExpositionError(0, `${where}: le values out of order`);
      }
      if (buckets[i][1] < buckets[i - 1][1]) {
        throw new ExpositionError(0, `${where}: buckets are not cumulative`);
      }
    }
    if (count !== buckets.at(-1)![1]) {
      throw new ExpositionError(0, `${where}: _count ${count} differs from the +Inf bucket`);
    }
  }
}
