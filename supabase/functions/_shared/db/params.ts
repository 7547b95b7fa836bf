/**
 * Query parameters with their Postgres type given up front. With `prepare: false` (required by the
 * transaction pooler) postgres.js 4 sends a statement whose parameters all have a type, or are
 * numbers and nulls, in one round trip (Parse, Bind, Execute and Sync written together); a string,
 * boolean or array it cannot type makes it describe the statement first and wait for the answer:
 * a second round trip on every call (postgres.js README, "Prepared statements"; counted per route
 * by tests/api/round_trips_test.ts). Wrapping such values here keeps every API statement to one.
 * @module
 */
import type postgres from "postgres";

/** Type oids of the parameters the API sends (pg_catalog.pg_type). */
const OID = { bool: 16, text: 25, int8Array: 1016, textArray: 1009 } as const;

type Param = postgres.Parameter | null;
type Typer = Pick<postgres.Sql, "typed">;

/**
 * A text parameter (`null` for a missing value); cast it in SQL when the column is another type
 * (`${text(sql, id)}::uuid`).
 *
 * @example
 * ```ts
 * await sql`select * from public.products where sku = ${text(sql, "SKU-1")}`;
 * ```
 */
export function text(sql: Typer, value: string | null | undefined): Param {
  return value == null ? null : sql.typed(value, OID.text);
}

/**
 * A boolean parameter (`null` for a missing value).
 *
 * @example
 * ```ts
 * await sql`select ${bool(sql, true)} as yes`;
 * ```
 */
export function bool(sql: Typer, value: boolean | null | undefined): Param {
  return value == null ? null : sql.typed(value, OID.bool);
}

/**
 * An `int8[]` parameter (`null` for a missing list).
 *
 * @example
 * ```ts
 * await sql`select * from public.inventory_levels(${int8Array(sql, [1, 2])}, null)`;
 * ```
 */
export function int8Array(sql: Typer, values: readonly number[] | null | undefined): Param {
  return values == null ? null : sql.typed(values as never, OID.int8Array);
}

/**
 * A `text[]` parameter (`null` for a missing list).
 *
 * @example
 * ```ts
 * await sql`select * from public.inventory_levels(null, ${textArray(sql, ["SKU-1"])})`;
 * ```
 */
export function textArray(sql: Typer, values: readonly string[] | null | undefined): Param {
  return values == null ? null : sql.typed(values as never, OID.textArray);
}
