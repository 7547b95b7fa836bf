/**
 * Shapes database rows into each API version's representation (see schemas.ts for the difference).
 * @module
 */
import { encodeCursor } from "../_shared/validation/schemas.ts";
import type { Version } from "./schemas.ts";

type Row = Record<string, unknown>;

/** Money in a version's shape: `{ <name>_cents, currency }` (v1) or `{ <name>: { amount, currency } }` (v2). */
export function money(version: Version, name: string, cents: unknown, currency: unknown): Row {
  return version === "v1" ? { [`${name}_cents`]: cents } : { [name]: { amount: cents, currency } };
}

/** A product of a list. */
export function product(row: Row, version: Version): Row {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    ...money(version, "price", row.price_cents, row.currency),
    ...(version === "v1" ? { currency: row.currency } : {}),
    category_id: row.category_id ?? null,
    available: row.available,
  };
}

/** A list page: `{ data, next_cursor }` (v1) or `{ data, page }` (v2). */
export function page(
  version: Version,
  data: Row[],
  limit: number,
  nextPosition: unknown | undefined,
): Row {
  const next = nextPosition === undefined ? null : encodeCursor(nextPosition);
  return version === "v1"
    ? { data, next_cursor: next }
    : { data, page: { limit, next_cursor: next, has_more: next !== null } };
}

/** A category with counts and price range. */
export function category(row: Row, version: Version): Row {
  const base = {
    id: row.id,
    parent_id: row.parent_id ?? null,
    name: row.name,
    slug: row.slug,
    position: row.position,
    product_count: row.product_count,
  };
  if (version === "v1") {
    return {
      ...base,
      min_price_cents: row.min_price_cents ?? null,
      max_price_cents: row.max_price_cents ?? null,
    };
  }
  return {
    ...base,
    price_range: row.min_price_cents === null || row.min_price_cents === undefined
      ? null
      : { min: row.min_price_cents, max: row.max_price_cents },
  };
}

/** An order summary (lists). */
export function orderSummary(row: Row, version: Version): Row {
  const placed = row.placed_at instanceof Date ? row.placed_at.toISOString() : row.placed_at;
  return {
    id: row.id,
    status: row.status,
    ...(version === "v1" ? { currency: row.currency } : {}),
    ...money(version, "subtotal", row.subtotal_cents, row.currency),
    ...money(version, "shipping", row.shipping_cents, row.currency),
    ...money(version, "total", row.total_cents, row.currency),
    item_count: row.item_count,
    placed_at: placed,
  };
}

/** A full order with customer and lines (from public.order_details). */
export function order(doc: Row, version: Version): Row {
  const items = (doc.items as Row[]).map((item) => ({
    line_no: item.line_no,
    product_id: item.product_id,
    sku: item.sku,
    name: item.name,
    quantity: item.quantity,
    ...money(version, "unit_price", item.unit_price_cents, doc.currency),
    ...money(version, "line_total", item.line_total_cents, doc.currency),
  }));
  return { ...orderSummary(doc, version), customer: doc.customer ?? null, items };
}
