/**
 * Reusable zod schemas: sanitized text, email, password strength, UUID, SKU, money, pagination,
 * sort, date ranges, and query-string coercion (numbers, booleans, arrays). Sanitization and
 * coercion happen inside the schema (z.preprocess), so the JSON Schema given to OpenAPI still shows
 * the rules a client must meet.
 * @module
 */
import { z } from "zod";
import { hasReplacementCharacter, sanitizeText } from "./sanitize.ts";

/** Options of {@linkcode text}. */
export interface TextOptions {
  min?: number;
  max: number;
  multiline?: boolean;
}

/**
 * Sanitized text with a length cap (after sanitization).
 *
 * @example
 * ```ts
 * text({ max: 80 }).parse("  hi\u0000 "); // "hi"
 * ```
 */
export function text({ min = 0, max, multiline = false }: TextOptions) {
  return z.preprocess(
    (v) => typeof v === "string" ? sanitizeText(v, { multiline }) : v,
    z.string().min(min).max(max).refine((v) => !hasReplacementCharacter(v), {
      message: "Contains invalid characters (not valid UTF-8)",
    }),
  );
}

/** An email address, lower-cased, at most 254 characters (RFC 5321). */
export const email = z.preprocess(
  (v) => typeof v === "string" ? sanitizeText(v).toLowerCase() : v,
  z.email().max(254),
);

const COMMON_PASSWORDS = new Set([
  "password",
  "password1",
  "123456789012",
  "qwertyuiop12",
  "letmein12345",
  "iloveyou1234",
  "admin1234567",
  "welcome12345",
]);

/**
 * A password of 12 to 128 characters with at least three of: lower case, upper case, digit,
 * symbol; not a well-known password.
 */
export const password = z.string().min(12).max(128).superRefine((v, ctx) => {
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(v)).length;
  if (classes < 3) {
    ctx.addIssue({
      code: "custom",
      message: "Use at least three of: lower case, upper case, digits, symbols",
    });
  }
  if (COMMON_PASSWORDS.has(v.toLowerCase())) {
    ctx.addIssue({ code: "custom", message: "This password is too common" });
  }
});

/** A UUID (any version), lower-cased. */
export const uuid = z.preprocess((v) => typeof v === "string" ? v.toLowerCase() : v, z.uuid());

/** A SKU: 3 to 32 upper-case letters, digits and dashes, starting with a letter or digit. */
export const sku = z.preprocess(
  (v) => typeof v === "string" ? sanitizeText(v).toUpperCase() : v,
  z.string().regex(/^[A-Z0-9][A-Z0-9-]{2,31}$/, "Expected 3-32 letters, digits or dashes"),
);

/** An ISO 4217 currency code. */
export const currency = z.preprocess(
  (v) => typeof v === "string" ? v.trim().toUpperCase() : v,
  z.string().regex(/^[A-Z]{3}$/, "Expected an ISO 4217 code such as EUR"),
);

/** An amount in minor units (cents): a non-negative safe integer below 10^11. */
export const minorUnits = z.number().int().min(0).max(99_999_999_999);

/** Money as minor units plus currency. */
export const money = z.object({ amount: minorUnits, currency });

const ID_RANGE = `Expected an id from 1 to ${Number.MAX_SAFE_INTEGER}`;

/**
 * A positive database id (bigint identity) in a path or query string: decimal digits only (no
 * `0x`, exponent, sign, space or fraction) and within JavaScript's safe range.
 *
 * @example
 * ```ts
 * id.parse("200"); // 200
 * id.safeParse("0xC8").success; // false
 * ```
 */
export const id = z.string().regex(/^\d{1,16}$/, "Expected a decimal integer id").transform(
  Number,
).pipe(z.number().int().min(1, ID_RANGE).max(Number.MAX_SAFE_INTEGER, ID_RANGE));

/**
 * A positive database id in a JSON body: a JSON integer, never a string, boolean or array.
 *
 * @example
 * ```ts
 * jsonId.parse(200); // 200
 * jsonId.safeParse("200").success; // false
 * ```
 */
export const jsonId = z.number().int().min(1, ID_RANGE).max(Number.MAX_SAFE_INTEGER, ID_RANGE);

/** Query-string integer: "12" → 12. */
export function queryInt({ min, max }: { min?: number; max?: number } = {}) {
  let schema = z.number().int();
  if (min !== undefined) schema = schema.min(min);
  if (max !== undefined) schema = schema.max(max);
  return z.preprocess(
    (v) => typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v,
    schema,
  );
}

/** Query-string boolean: true/false/1/0/yes/no. */
export const queryBool = z.preprocess((v) => {
  if (typeof v !== "string") return v;
  const s = v.trim().toLowerCase();
  if (["true", "1", "yes"].includes(s)) return true;
  if (["false", "0", "no"].includes(s)) return false;
  return v;
}, z.boolean());

/** Query-string array: `a,b` or repeated `?x=a&x=b`, each item validated by `item`. */
export function queryArray<T extends z.ZodType>(item: T, { max = 100 }: { max?: number } = {}) {
  return z.preprocess(
    (v) => {
      const parts = Array.isArray(v) ? v : typeof v === "string" ? [v] : v;
      return Array.isArray(parts)
        ? parts.flatMap((p) => typeof p === "string" ? p.split(",") : [p]).map((p) =>
          typeof p === "string" ? p.trim() : p
        ).filter((p) => p !== "")
        : parts;
    },
    z.array(item).min(1).max(max),
  );
}

/** Encodes a keyset position as an opaque URL-safe cursor. */
export function encodeCursor(position: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(position));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/** Keys a cursor position may have, and how long a text value in it may be. */
const CURSOR_MAX_KEYS = 8;
const CURSOR_MAX_TEXT = 300;

/**
 * Whether a decoded position looks like one the server made: a few keys whose values are short
 * text, safe integers or finite numbers of the same range, booleans or null. Anything else was
 * tampered with and would only reach the database to be refused there.
 */
function isPosition(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return entries.length <= CURSOR_MAX_KEYS &&
    entries.every(([, v]) =>
      v === null || typeof v === "boolean" ||
      (typeof v === "string" && v.length <= CURSOR_MAX_TEXT) ||
      (typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER)
    );
}

/** An opaque cursor made by {@linkcode encodeCursor}, decoded back to its JSON object. */
export const cursor = z.string().regex(/^[A-Za-z0-9_-]{1,400}$/, "Malformed cursor").transform(
  (value, ctx) => {
    try {
      const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
      const decoded = JSON.parse(
        new TextDecoder("utf-8", { fatal: true }).decode(
          Uint8Array.from(binary, (c) => c.charCodeAt(0)),
        ),
      );
      if (!isPosition(decoded)) throw 0;
      return decoded;
    } catch {
      ctx.addIssue({ code: "custom", message: "Malformed cursor" });
      return z.NEVER;
    }
  },
);

/** Page size (1-100, default 20) and an opaque cursor. */
export const pagination = {
  limit: queryInt({ min: 1, max: 100 }).default(20),
  cursor: cursor.optional(),
};

/**
 * A sort parameter over `fields`: `name` ascending, `-name` descending.
 *
 * @example
 * ```ts
 * sort(["price", "name"], "name").parse("-price"); // { field: "price", direction: "desc" }
 * ```
 */
export function sort<const F extends string>(fields: readonly F[], fallback: F) {
  const values = fields.flatMap((f) => [f, `-${f}`]) as [string, ...string[]];
  return z.enum(values).default(fallback).transform((v) => ({
    field: (v.startsWith("-") ? v.slice(1) : v) as F,
    direction: v.startsWith("-") ? "desc" as const : "asc" as const,
  }));
}

/** A date range over ISO dates with `from` ≤ `to` and a maximum span in days. */
export function dateRange({ maxDays = 366 }: { maxDays?: number } = {}) {
  return z.object({ from: z.iso.date(), to: z.iso.date() }).refine(
    (r) => r.from <= r.to,
    { message: "from must not be after to", path: ["from"] },
  ).refine(
    (r) => (Date.parse(r.to) - Date.parse(r.from)) / 86_400_000 <= maxDays,
    { message: `The range may span at most ${maxDays} days`, path: ["to"] },
  );
}
