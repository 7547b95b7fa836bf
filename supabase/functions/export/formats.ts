/**
 * Which format an export is written in and how it is labelled: `format=` wins, else the `Accept`
 * header (`text/csv`, `application/json`, `application/x-ndjson` / `application/jsonl`), else CSV;
 * gzip when `Accept-Encoding` allows it (RFC 9110 §12.5.3: `gzip;q=0` refuses it); the media
 * type, and a `Content-Disposition` file name per RFC 6266.
 * @module
 */
import { ProblemError } from "../_shared/http/problem.ts";

/** An output format. */
export type ExportFormat = "csv" | "json" | "jsonl";

/** Media type of each format. */
export const MEDIA_TYPES: Readonly<Record<ExportFormat, string>> = {
  csv: "text/csv; charset=utf-8; header=present",
  json: "application/json; charset=utf-8",
  jsonl: "application/jsonl; charset=utf-8",
};

const EXTENSIONS: Readonly<Record<ExportFormat, string>> = {
  csv: "csv",
  json: "json",
  jsonl: "jsonl",
};

const ACCEPTED: readonly [string, ExportFormat][] = [
  ["text/csv", "csv"],
  ["application/csv", "csv"],
  ["application/json", "json"],
  ["application/jsonl", "jsonl"],
  ["application/x-ndjson", "jsonl"],
  ["application/x-jsonlines", "jsonl"],
];

interface Range {
  type: string;
  q: number;
}

function parseList(header: string): Range[] {
  return header.split(",").map((part) => {
    const [type, ...params] = part.trim().split(";");
    const qParam = params.map((p) => p.trim()).find((p) => p.toLowerCase().startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    return { type: type.trim().toLowerCase(), q: Number.isFinite(q) ? q : 0 };
  }).filter((r) => r.type !== "");
}

/**
 * The format asked for: `format=` first, then the best `Accept` match, then CSV; 406 when
 * `Accept` names only types no format has.
 *
 * @example
 * ```ts
 * negotiateFormat(undefined, "application/x-ndjson"); // "jsonl"
 * ```
 */
export function negotiateFormat(
  param: "csv" | "json" | "jsonl" | "ndjson" | undefined,
  accept: string | undefined,
): ExportFormat {
  if (param) return param === "ndjson" ? "jsonl" : param;
  if (!accept || accept.trim() === "") return "csv";
  let best: { format: ExportFormat; q: number } | undefined;
  for (const range of parseList(accept)) {
    if (range.q <= 0) continue;
    const found = range.type === "*/*" || range.type === "text/*"
      ? "csv"
      : ACCEPTED.find(([type]) => type === range.type)?.[1];
    if (found && (!best || range.q > best.q)) {
      best = { format: found, q: range.q };
    }
  }
  if (!best) {
    throw new ProblemError({
      type: "not-acceptable",
      status: 406,
      title: "Not Acceptable",
      detail: "Exports are text/csv, application/json or application/jsonl; " +
        "ask for one in Accept or with format=",
      accepted: ["text/csv", "application/json", "application/jsonl"],
    });
  }
  return best.format;
}

/**
 * Whether the response may be gzip-compressed.
 *
 * @example
 * ```ts
 * acceptsGzip("gzip, deflate, br"); // true
 * ```
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  const ranges = parseList(acceptEncoding);
  const gzip = ranges.find((r) => r.type === "gzip" || r.type === "x-gzip");
  if (gzip) return gzip.q > 0;
  const star = ranges.find((r) => r.type === "*");
  return star !== undefined && star.q > 0;
}

/**
 * `Content-Disposition` of a page: `<stem>-<UTC time>[-page-N].<ext>`, ASCII only.
 *
 * @example
 * ```ts
 * contentDisposition("orders", "csv", new Date(0), 1); // attachment; filename="orders-19700101T000000Z.csv"
 * ```
 */
export function contentDisposition(
  stem: string,
  format: ExportFormat,
  at: Date,
  page: number,
): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const suffix = page > 1 ? `-page-${page}` : "";
  return `attachment; filename="${stem}-${stamp}${suffix}.${EXTENSIONS[format]}"`;
}
