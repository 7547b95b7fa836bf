/**
 * The statements of one export page, built from a resource of resources.ts:
 *
 * - `settings`: one `set_config(…, true)` per value the request carries (filters, the keyset
 *   position, the high-water mark, the page size). `COPY (query) TO STDOUT` takes no bind
 *   parameters, so values travel as transaction-local settings read back with
 *   `current_setting()`; the SQL text only ever holds the fixed strings of resources.ts.
 * - `boundary`: the last key of the page (and how many rows there are up to one past it), read in
 *   the export's snapshot before the first byte, so the `Link` header can name the next page.
 * - `copy`: the page itself as `COPY … TO STDOUT`, formatted by Postgres:
 *   CSV natively (header, quoting per RFC 4180, `,` or `;`), cells of text columns that start with
 *   `= + - @`, a tab or a carriage return prefixed with `'` (OWASP's advice against formula
 *   injection); JSON Lines as `row_to_json()` per row, written through COPY's CSV mode with a quote
 *   and a delimiter (0x01, 0x02) that JSON text never holds unescaped, so each line comes out
 *   verbatim (COPY's text mode would double every backslash of the JSON); a JSON array as the
 *   same lines led by `[` or `,`.
 * @module
 */
import type { Column, FilterParam, Resource } from "./resources.ts";

/** A keyset position: the key of the last row already exported, one string per key part. */
export type KeyValues = readonly string[];

/**
 * What Postgres writes: CSV, JSON Lines, or the rows of a JSON array (`[` before the first, `,`
 * before the others; the closing `]` is the one byte the function adds, see encoders.ts).
 */
export type CopyFormat = "csv" | "jsonl" | "json";

/** CSV layout options. */
export interface CsvLayout {
  delimiter: "," | ";";
  header: boolean;
}

/** Filter values as validated (strings in their SQL input syntax). */
export type FilterValues = Partial<Record<FilterParam, string>>;

/** What one page reads. */
export interface PageSpec {
  resource: Resource;
  filters: FilterValues;
  /** The caller's user id when the caller is a customer (restricts the rows to theirs). */
  ownerId?: string;
  /** Key of the last row of the previous page. */
  after?: KeyValues;
  /** High-water mark recorded by the first page. */
  upto?: string;
  /** Rows per page. */
  pageRows: number;
}

/** The statements of a page and the settings they read. */
export interface PageStatements {
  /** `[name, value]` pairs to set with `set_config(name, value, true)` first. */
  settings: [string, string][];
  /**
   * Returns up to two rows `k0…kn`: the page's last key and the next page's first; none when the
   * page is the last and holds fewer than `pageRows` rows.
   */
  boundary: string;
  /** Counts the rows left (run only for a last page, which holds fewer than `pageRows`). */
  count: string;
  /**
   * The COPY of the page, bounded by `(key) <= (last key)` read from the `last_*` settings; no
   * `last`: the rest of the rows (a last page).
   */
  copy(format: CopyFormat, csv: CsvLayout, last: KeyValues | undefined): {
    settings: [string, string][];
    text: string;
  };
  /** Reads the high-water mark (`upto`) when the resource has one. */
  highWater?: string;
}

const PREFIX = "comptoir_export.";

/**
 * Builds the statements of a page.
 *
 * @example
 * ```ts
 * const page = pageStatements({ resource: RESOURCES.orders, filters: {}, pageRows: 1000 });
 * ```
 */
export function pageStatements(spec: PageSpec): PageStatements {
  const { resource } = spec;
  const settings: [string, string][] = [];
  const param = (name: string, value: string, type: string) => {
    settings.push([PREFIX + name, value]);
    return `pg_catalog.current_setting('${PREFIX}${name}')::${type}`;
  };

  const conditions: string[] = [...(resource.where ?? [])];
  for (const filter of resource.filters) {
    const value = spec.filters[filter.param];
    if (value !== undefined) {
      conditions.push(
        filter.condition.replace("$", param(filter.param, value, filter.type)),
      );
    }
  }
  if (spec.ownerId !== undefined) {
    if (!resource.customerFilter) {
      throw new TypeError(`${resource.name} has no owner filter`);
    }
    conditions.push(
      resource.customerFilter.replace(
        "$",
        param("owner", spec.ownerId, "uuid"),
      ),
    );
  }
  if (resource.highWater && spec.upto !== undefined) {
    conditions.push(
      `${resource.highWater.sql} <= ${param("upto", spec.upto, "bigint")}`,
    );
  }
  const keyList = resource.key.map((k) => k.sql).join(", ");
  if (spec.after) {
    const after = resource.key.map((k, i) => param(`after_${i}`, spec.after![i], k.type));
    conditions.push(`(${keyList}) > (${after.join(", ")})`);
  }
  const where = (extra: string[] = []) => {
    const all = [...conditions, ...extra];
    return all.length > 0 ? ` where ${all.join(" and ")}` : "";
  };
  const groupBy = resource.groupBy ? ` group by ${resource.groupBy}` : "";
  const keyAliases = resource.key.map((k, i) => `${k.sql} as k${i}`).join(", ");

  // OFFSET walks the key index without sorting or buffering: the page's last key and, when
  // present, the first key of the next page. Fewer than two rows: this is the last page.
  const boundary = `select ${keyAliases} from ${resource.from}${where()}${groupBy} ` +
    `order by ${keyList} offset ${param("offset", String(spec.pageRows - 1), "bigint")} limit 2`;
  const count = resource.groupBy
    ? `select pg_catalog.count(*)::bigint as n from (select 1 from ${resource.from}${where()}` +
      `${groupBy}) g`
    : `select pg_catalog.count(*)::bigint as n from ${resource.from}${where()}`;

  return {
    settings,
    boundary,
    count,
    highWater: resource.highWater
      ? `select coalesce(max(${resource.highWater.column}), 0)::text as upto ` +
        `from ${resource.highWater.table}`
      : undefined,
    copy(format, csv, last) {
      const lastSettings: [string, string][] = [];
      const bounds: string[] = [];
      if (last) {
        const lastParams = resource.key.map((k, i) => {
          lastSettings.push([`${PREFIX}last_${i}`, last[i]]);
          return `pg_catalog.current_setting('${PREFIX}last_${i}')::${k.type}`;
        });
        bounds.push(`(${keyList}) <= (${lastParams.join(", ")})`);
      }
      const bounded = where(bounds);
      const tail = `from ${resource.from}${bounded}${groupBy} order by ${keyList}`;
      if (format === "csv") {
        const cols = resource.columns.map((c) => `${csvCell(c)} as ${quoteIdent(c.name)}`);
        const options = [
          "format csv",
          `header ${csv.header ? "true" : "false"}`,
          `delimiter '${csv.delimiter}'`,
        ];
        return {
          settings: lastSettings,
          text: `copy (select ${cols.join(", ")} ${tail}) to stdout with (${options.join(", ")})`,
        };
      }
      const cols = resource.columns.map((c) => `${c.sql} as ${quoteIdent(c.name)}`);
      // The window numbers rows in the order the subquery delivers them (no ORDER BY, no sort).
      const line = format === "json"
        ? "case when pg_catalog.row_number() over () = 1 then '[' else ',' end || " +
          "pg_catalog.row_to_json(r)::text"
        : "pg_catalog.row_to_json(r)::text";
      return {
        settings: lastSettings,
        text: `copy (select ${line} from (select ${cols.join(", ")} ${tail}) r) ` +
          `to stdout with (format csv, quote e'\\x01', delimiter e'\\x02')`,
      };
    },
  };
}

/** A column as written in CSV. */
function csvCell(column: Column): string {
  const x = column.sql;
  switch (column.kind) {
    case "text":
      // OWASP CSV injection: a cell a spreadsheet would read as a formula gets a leading quote.
      return `case when pg_catalog.left((${x})::text, 1) in ('=', '+', '-', '@', e'\\t', e'\\r') ` +
        `then '''' || (${x})::text else (${x})::text end`;
    case "boolean":
      return `case when ${x} then 'true' when not ${x} then 'false' end`;
    case "timestamp":
      return `pg_catalog.to_char((${x}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    case "date":
      return `pg_catalog.to_char(${x}, 'YYYY-MM-DD')`;
    case "number":
      return x;
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
