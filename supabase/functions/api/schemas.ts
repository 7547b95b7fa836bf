/**
 * Request and response schemas of the shop API, shared by validation and the OpenAPI document.
 * v1 and v2 differ the way real APIs evolve: v1 gives money as `*_cents` integers beside a
 * `currency`, v2 as `{ amount, currency }` objects; v1 lists are `{ data, next_cursor }`, v2 lists
 * wrap paging in `page: { limit, next_cursor, has_more }`.
 * @module
 */
import { z } from "zod";
import {
  id,
  jsonId,
  minorUnits,
  pagination,
  queryArray,
  queryBool,
  queryInt,
  sku,
  text,
} from "../_shared/validation/schemas.ts";

/** Versions served; v1 is deprecated in favour of v2. */
export const VERSIONS = ["v1", "v2"] as const;
/** A served version. */
export type Version = (typeof VERSIONS)[number];

export const productSort = z.enum(["relevance", "price", "-price", "name", "-name", "newest"])
  .default(
    "relevance",
  );

const priceRange = <T extends z.ZodRawShape>(shape: T) =>
  z.object(shape).strict().refine(
    (q) => {
      const { min_price, max_price } = q as { min_price?: number; max_price?: number };
      return min_price === undefined || max_price === undefined || min_price <= max_price;
    },
    { message: "min_price must not exceed max_price", path: ["min_price"] },
  );

const productFilters = {
  min_price: queryInt({ min: 0, max: 99_999_999_999 }).optional().describe(
    "Minimum price, minor units",
  ),
  max_price: queryInt({ min: 0, max: 99_999_999_999 }).optional().describe(
    "Maximum price, minor units",
  ),
  in_stock: queryBool.optional().describe("Only products with available stock"),
  sort: productSort,
  ...pagination,
};

export const searchQuery = priceRange({
  q: text({ max: 200 }).optional().describe("Full-text query over name, SKU and description"),
  category_id: id.optional().describe("Category (its subcategories included)"),
  ...productFilters,
});

export const categoryProductsQuery = priceRange(productFilters);

export const idParams = z.object({ id }).strict();

export const inventoryQuery = z.object({
  product_ids: queryArray(id, { max: 100 }).optional().describe("Comma-separated product ids"),
  skus: queryArray(sku, { max: 100 }).optional().describe("Comma-separated SKUs"),
}).strict().refine((q) => q.product_ids !== undefined || q.skus !== undefined, {
  message: "Give product_ids or skus",
  path: ["product_ids"],
});

export const ordersQuery = z.object({ ...pagination }).strict();

export const dashboardQuery = z.object({
  days: queryInt({ min: 1, max: 365 }).default(30).describe("Length of the period in days"),
}).strict();

/** An instant with its offset, e.g. 2026-12-01T00:00:00Z (what the audit filters accept). */
const instant = z.iso.datetime({ offset: true })
  .describe("RFC 3339 date-time with offset");

/** Filters of GET /admin/audit. */
export const auditQuery = z.object({
  table: z.string().regex(
    /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/,
    "Expected a table name",
  )
    .optional().describe("Table, `schema.table` or `table` (public)"),
  record: z.guid().optional().describe("record_id of a row (see audit.record_id)"),
  actor: z.guid().optional().describe("auth uid of the caller who made the change"),
  action: z.string().regex(
    /^(insert|update|delete|truncate|event|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/,
    "Expected insert, update, delete, truncate, event or an event name such as dashboard.read",
  ).max(100).optional().describe("Row operation, `event`, or an event name"),
  from: instant.optional().describe("Entries at or after this instant"),
  to: instant.optional().describe("Entries before this instant"),
  ...pagination,
}).strict().refine(
  (q) => q.from === undefined || q.to === undefined || Date.parse(q.from) < Date.parse(q.to),
  { message: "from must be before to", path: ["from"] },
);

/** Paging of an order's history. */
export const orderHistoryQuery = z.object({ ...pagination }).strict();

export const topProductsQuery = z.object({
  days: queryInt({ min: 1, max: 365 }).default(30),
  // public.sales_dashboard ranks the 10 best sellers; a larger limit could not be honoured.
  limit: queryInt({ min: 1, max: 10 }).default(10),
}).strict();

const orderLine = z.object({
  product_id: jsonId.optional(),
  sku: sku.optional(),
  quantity: z.number().int().min(1).max(1000),
}).strict().refine((l) => (l.product_id === undefined) !== (l.sku === undefined), {
  message: "Give exactly one of product_id or sku",
  path: ["product_id"],
});

export const createOrderBody = z.object({
  items: z.array(orderLine).min(1).max(50),
}).strict();

export const createOrderHeaders = z.object({
  "idempotency-key": z.string().regex(/^[\x21-\x7E]{1,255}$/, "1-255 visible ASCII characters")
    .optional(),
});

// Responses ----------------------------------------------------------------------------------------

const money = z.object({ amount: minorUnits, currency: z.string() });
const cursorOut = z.string().nullable();

/** A response schema in each version's shape. */
function versioned<T1 extends z.ZodType, T2 extends z.ZodType>(v1: T1, v2: T2) {
  return (version: Version) => version === "v1" ? v1 : v2;
}

const productV1 = z.object({
  id: z.number(),
  sku: z.string(),
  name: z.string(),
  price_cents: z.number(),
  currency: z.string(),
  category_id: z.number().nullable(),
  available: z.number(),
});
const productV2 = productV1.omit({ price_cents: true, currency: true }).extend({ price: money });

export const productSchema = versioned(productV1, productV2);

export const productDetailSchema = versioned(
  productV1.extend({
    description: z.string(),
    category: z.object({ id: z.number(), name: z.string(), slug: z.string() }).nullable(),
  }),
  productV2.extend({
    description: z.string(),
    category: z.object({ id: z.number(), name: z.string(), slug: z.string() }).nullable(),
  }),
);

/** A list envelope in each version's shape. */
export function listSchema(item: (v: Version) => z.ZodType) {
  return (version: Version) =>
    version === "v1" ? z.object({ data: z.array(item("v1")), next_cursor: cursorOut }) : z.object({
      data: z.array(item("v2")),
      page: z.object({ limit: z.number(), next_cursor: cursorOut, has_more: z.boolean() }),
    });
}

export const categorySchema = versioned(
  z.object({
    id: z.number(),
    parent_id: z.number().nullable(),
    name: z.string(),
    slug: z.string(),
    position: z.number(),
    product_count: z.number(),
    min_price_cents: z.number().nullable(),
    max_price_cents: z.number().nullable(),
  }),
  z.object({
    id: z.number(),
    parent_id: z.number().nullable(),
    name: z.string(),
    slug: z.string(),
    position: z.number(),
    product_count: z.number(),
    price_range: z.object({ min: z.number(), max: z.number() }).nullable(),
  }),
);

export const inventorySchema = z.object({
  data: z.array(z.object({
    product_id: z.number(),
    sku: z.string(),
    on_hand: z.number(),
    reserved: z.number(),
    available: z.number(),
    updated_at: z.string(),
  })),
});

const orderItemV1 = z.object({
  line_no: z.number(),
  product_id: z.number(),
  sku: z.string(),
  name: z.string(),
  quantity: z.number(),
  unit_price_cents: z.number(),
  line_total_cents: z.number(),
});
const orderItemV2 = orderItemV1.omit({ unit_price_cents: true, line_total_cents: true }).extend({
  unit_price: money,
  line_total: money,
});
const orderSummaryV1 = z.object({
  id: z.number(),
  status: z.string(),
  currency: z.string(),
  subtotal_cents: z.number(),
  shipping_cents: z.number(),
  total_cents: z.number(),
  item_count: z.number(),
  placed_at: z.string(),
});
const orderSummaryV2 = orderSummaryV1.omit({
  currency: true,
  subtotal_cents: true,
  shipping_cents: true,
  total_cents: true,
}).extend({ subtotal: money, shipping: money, total: money });

export const orderSummarySchema = versioned(orderSummaryV1, orderSummaryV2);

export const orderSchema = versioned(
  orderSummaryV1.extend({
    customer: z.object({ id: z.string(), email: z.string(), full_name: z.string() }).nullable(),
    items: z.array(orderItemV1),
  }),
  orderSummaryV2.extend({
    customer: z.object({ id: z.string(), email: z.string(), full_name: z.string() }).nullable(),
    items: z.array(orderItemV2),
  }),
);

const kpis = z.object({
  revenue_cents: z.number(),
  orders: z.number(),
  units: z.number(),
  avg_basket_cents: z.number(),
});

export const dashboardSchema = z.object({
  from: z.string(),
  to: z.string(),
  totals: kpis,
  previous: kpis,
  change_pct: z.record(z.string(), z.number().nullable()),
  daily: z.array(kpis.extend({ day: z.string() })),
  by_category: z.array(z.object({
    category_id: z.number().nullable(),
    name: z.string().nullable(),
    revenue_cents: z.number(),
    orders: z.number(),
    units: z.number(),
  })),
  top_products: z.array(z.object({
    product_id: z.number(),
    sku: z.string(),
    name: z.string(),
    units: z.number(),
    revenue_cents: z.number(),
  })),
});

export const topProductsSchema = z.object({ data: dashboardSchema.shape.top_products });

/** One entry of the audit trail. */
export const auditEntrySchema = z.object({
  id: z.number(),
  ts: z.string().describe("When the transaction that wrote it started (UTC, microseconds)"),
  op: z.enum(["INSERT", "UPDATE", "DELETE", "TRUNCATE", "EVENT"]),
  table: z.string().nullable(),
  record_id: z.string().nullable(),
  old_record_id: z.string().nullable(),
  record: z.record(z.string(), z.unknown()).nullable(),
  old_record: z.record(z.string(), z.unknown()).nullable(),
  action: z.string().nullable(),
  target: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  actor: z.object({
    uid: z.string().nullable(),
    role: z.string().nullable(),
    db_role: z.string(),
  }),
  request_id: z.string().nullable(),
});

/** A page of audit entries (v2 only). */
export const auditPageSchema = z.object({
  data: z.array(auditEntrySchema),
  page: z.object({ limit: z.number(), next_cursor: cursorOut, has_more: z.boolean() }),
});
