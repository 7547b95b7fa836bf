/**
 * The query string of an export: format and CSV layout, row filters, page size and continuation.
 * Unknown parameters are refused (strict), so a typo never silently exports everything.
 * @module
 */
import { z } from "zod";
import { queryArray, queryBool, queryInt, uuid } from "../_shared/validation/schemas.ts";

/** Order statuses (the `public.order_status` enum). */
export const ORDER_STATUSES = [
  "pending",
  "paid",
  "shipped",
  "delivered",
  "cancelled",
  "refunded",
] as const;

/** Largest page a request may ask for and the default page size. */
export const MAX_PAGE_ROWS = 1_000_000;

/** An instant: an ISO 8601 date (midnight UTC) or date-time with an offset. */
const instant = z.union([z.iso.date(), z.iso.datetime({ offset: true })])
  .transform((v) => new Date(v.length === 10 ? `${v}T00:00:00Z` : v).toISOString());

/** The export query string. */
export const exportQuery = z.strictObject({
  format: z.enum(["csv", "json", "jsonl", "ndjson"]).optional(),
  delimiter: z.enum([",", ";", "comma", "semicolon"]).optional(),
  bom: queryBool.optional(),
  header: queryBool.optional(),
  from: instant.optional(),
  to: instant.optional(),
  status: queryArray(z.enum(ORDER_STATUSES), { max: ORDER_STATUSES.length })
    .optional(),
  customer_id: uuid.optional(),
  page_size: queryInt({ min: 1, max: MAX_PAGE_ROWS }).optional(),
  cursor: z.string().regex(
    /^[A-Za-z0-9_-]{1,1500}\.[A-Za-z0-9_-]{43}$/,
    "Malformed cursor",
  )
    .optional(),
}).refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
  message: "from must be before to",
  path: ["from"],
});

/** A parsed export query string. */
export type ExportQuery = z.output<typeof exportQuery>;

/** The path parameters. */
export const exportParams = z.strictObject({ resource: z.string() });
