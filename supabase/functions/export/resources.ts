/**
 * What the `export` function can export: one entry per resource with its columns (SQL
 * expression, name, kind), the rows it reads (`from`), the filters it accepts, the keyset key that
 * orders it and cuts it into pages, the high-water mark that holds the row set still across pages,
 * and who may export it. Nothing here runs SQL: query.ts turns an entry into statements.
 *
 * Every filter value reaches the database as a parameter (see query.ts): the SQL text of a
 * resource is fixed here, chosen among these strings, never built from the request.
 * @module
 */
import type { CallerRole } from "../_shared/auth/caller.ts";

/** How a column's value is written in CSV (JSON keeps Postgres' own JSON of the value). */
export type ColumnKind = "text" | "number" | "boolean" | "timestamp" | "date";

/** One exported column. */
export interface Column {
  /** Header and JSON key. */
  name: string;
  /** SQL expression over the resource's `from`. */
  sql: string;
  kind: ColumnKind;
}

/** Query-string parameters that filter rows. */
export const FILTER_PARAMS = ["from", "to", "status", "customer_id"] as const;

/** A filter parameter. */
export type FilterParam = typeof FILTER_PARAMS[number];

/** A filter of the query string and the condition it adds. */
export interface Filter {
  /** Query-string parameter. */
  param: FilterParam;
  /** Condition over `from`; `$` is replaced by the parameter's typed setting. */
  condition: string;
  /** SQL type the parameter is cast to. */
  type: "timestamptz" | "uuid" | "public.order_status[]";
}

/** One column of a keyset key. */
export interface KeyPart {
  sql: string;
  type: "bigint" | "integer" | "uuid" | "date" | "text";
}

/** An exportable resource. */
export interface Resource {
  name: ResourceName;
  /** File name stem of the download. */
  fileStem: string;
  columns: readonly Column[];
  /** `from … [where …]` without the keyset, filters or ordering. */
  from: string;
  /** Conditions always applied (joined with `and`). */
  where?: readonly string[];
  /** `group by` clause for aggregates. */
  groupBy?: string;
  filters: readonly Filter[];
  /** Keyset key, unique per row, in order. */
  key: readonly KeyPart[];
  /**
   * An ever-growing id: the first page records its maximum and later pages stop there, so rows
   * added after the export started never join it.
   */
  highWater?: { sql: string; table: string; column: string };
  /** Roles allowed; customers see their own rows (RLS, and the `customer_filter` below). */
  roles: readonly CallerRole[];
  /** Condition restricting a customer to their own rows; `$` is their user id as uuid. */
  customerFilter?: string;
}

/** Names of the exportable resources. */
export const RESOURCE_NAMES = [
  "orders",
  "order_lines",
  "products",
  "inventory",
  "customers",
  "sales_daily",
  "audit",
] as const;

/** A resource name. */
export type ResourceName = typeof RESOURCE_NAMES[number];

const ORDER_FILTERS: readonly Filter[] = [
  { param: "from", condition: "o.placed_at >= $", type: "timestamptz" },
  { param: "to", condition: "o.placed_at < $", type: "timestamptz" },
  {
    param: "status",
    condition: "o.status = any($)",
    type: "public.order_status[]",
  },
  { param: "customer_id", condition: "o.customer_id = $", type: "uuid" },
];

const ADMINS: readonly CallerRole[] = ["admin", "service_role"];

/** Every resource by name. */
export const RESOURCES: Readonly<Record<ResourceName, Resource>> = {
  orders: {
    name: "orders",
    fileStem: "orders",
    columns: [
      { name: "id", sql: "o.id", kind: "number" },
      { name: "customer_id", sql: "o.customer_id", kind: "text" },
      { name: "status", sql: "o.status", kind: "text" },
      { name: "currency", sql: "o.currency", kind: "text" },
      { name: "subtotal_cents", sql: "o.subtotal_cents", kind: "number" },
      { name: "shipping_cents", sql: "o.shipping_cents", kind: "number" },
      { name: "total_cents", sql: "o.total_cents", kind: "number" },
      { name: "item_count", sql: "o.item_count", kind: "number" },
      { name: "placed_at", sql: "o.placed_at", kind: "timestamp" },
      { name: "updated_at", sql: "o.updated_at", kind: "timestamp" },
    ],
    from: "public.orders o",
    filters: ORDER_FILTERS,
    key: [{ sql: "o.id", type: "bigint" }],
    highWater: { sql: "o.id", table: "public.orders", column: "id" },
    roles: ["customer", ...ADMINS],
    customerFilter: "o.customer_id = $",
  },
  order_lines: {
    name: "order_lines",
    fileStem: "order-lines",
    columns: [
      { name: "order_id", sql: "i.order_id", kind: "number" },
      { name: "line_no", sql: "i.line_no", kind: "number" },
      { name: "placed_at", sql: "o.placed_at", kind: "timestamp" },
      { name: "status", sql: "o.status", kind: "text" },
      { name: "product_id", sql: "i.product_id", kind: "number" },
      { name: "sku", sql: "p.sku", kind: "text" },
      { name: "product_name", sql: "p.name", kind: "text" },
      { name: "quantity", sql: "i.quantity", kind: "number" },
      { name: "unit_price_cents", sql: "i.unit_price_cents", kind: "number" },
      { name: "line_total_cents", sql: "i.line_total_cents", kind: "number" },
      { name: "currency", sql: "o.currency", kind: "text" },
    ],
    from: "public.order_items i join public.orders o on o.id = i.order_id " +
      "join public.products p on p.id = i.product_id",
    filters: ORDER_FILTERS,
    key: [{ sql: "i.order_id", type: "bigint" }, {
      sql: "i.line_no",
      type: "integer",
    }],
    highWater: { sql: "i.order_id", table: "public.orders", column: "id" },
    roles: ["customer", ...ADMINS],
    customerFilter: "o.customer_id = $",
  },
  products: {
    name: "products",
    fileStem: "products",
    columns: [
      { name: "id", sql: "p.id", kind: "number" },
      { name: "sku", sql: "p.sku", kind: "text" },
      { name: "name", sql: "p.name", kind: "text" },
      { name: "description", sql: "p.description", kind: "text" },
      { name: "price_cents", sql: "p.price_cents", kind: "number" },
      { name: "currency", sql: "p.currency", kind: "text" },
      { name: "category_id", sql: "p.category_id", kind: "number" },
      { name: "category", sql: "c.name", kind: "text" },
      { name: "active", sql: "p.active", kind: "boolean" },
      { name: "created_at", sql: "p.created_at", kind: "timestamp" },
      { name: "updated_at", sql: "p.updated_at", kind: "timestamp" },
    ],
    from: "public.products p left join public.categories c on c.id = p.category_id",
    filters: [],
    key: [{ sql: "p.id", type: "bigint" }],
    roles: ADMINS,
  },
  inventory: {
    name: "inventory",
    fileStem: "inventory",
    columns: [
      { name: "product_id", sql: "v.product_id", kind: "number" },
      { name: "sku", sql: "p.sku", kind: "text" },
      { name: "name", sql: "p.name", kind: "text" },
      { name: "active", sql: "p.active", kind: "boolean" },
      { name: "on_hand", sql: "v.on_hand", kind: "number" },
      { name: "reserved", sql: "v.reserved", kind: "number" },
      { name: "available", sql: "v.on_hand - v.reserved", kind: "number" },
      { name: "updated_at", sql: "v.updated_at", kind: "timestamp" },
    ],
    from: "public.inventory v join public.products p on p.id = v.product_id",
    filters: [],
    key: [{ sql: "v.product_id", type: "bigint" }],
    roles: ADMINS,
  },
  customers: {
    name: "customers",
    fileStem: "customers",
    columns: [
      { name: "id", sql: "u.id", kind: "text" },
      { name: "email", sql: "u.email", kind: "text" },
      { name: "full_name", sql: "u.full_name", kind: "text" },
      { name: "created_at", sql: "u.created_at", kind: "timestamp" },
      { name: "updated_at", sql: "u.updated_at", kind: "timestamp" },
    ],
    from: "public.customers u",
    filters: [],
    key: [{ sql: "u.id", type: "uuid" }],
    roles: ADMINS,
  },
  sales_daily: {
    name: "sales_daily",
    fileStem: "sales-daily",
    columns: [
      {
        name: "day",
        sql: "(o.placed_at at time zone 'UTC')::date",
        kind: "date",
      },
      { name: "currency", sql: "o.currency", kind: "text" },
      { name: "orders", sql: "count(*)", kind: "number" },
      { name: "units", sql: "sum(o.item_count)", kind: "number" },
      { name: "revenue_cents", sql: "sum(o.total_cents)", kind: "number" },
    ],
    // Paid, shipped or delivered: the statuses the sales dashboard counts as sales.
    from: "public.orders o",
    where: ["o.status in ('paid', 'shipped', 'delivered')"],
    groupBy: "(o.placed_at at time zone 'UTC')::date, o.currency",
    filters: ORDER_FILTERS.filter((f) => f.param === "from" || f.param === "to"),
    key: [
      { sql: "(o.placed_at at time zone 'UTC')::date", type: "date" },
      { sql: "o.currency::text", type: "text" },
    ],
    roles: ADMINS,
  },
  audit: {
    name: "audit",
    fileStem: "audit",
    columns: [
      { name: "id", sql: "a.id", kind: "number" },
      { name: "ts", sql: "a.ts", kind: "timestamp" },
      { name: "op", sql: "a.op", kind: "text" },
      { name: "table_schema", sql: "a.table_schema", kind: "text" },
      { name: "table_name", sql: "a.table_name", kind: "text" },
      { name: "record_id", sql: "a.record_id", kind: "text" },
      { name: "old_record_id", sql: "a.old_record_id", kind: "text" },
      { name: "action", sql: "a.action", kind: "text" },
      { name: "target", sql: "a.target", kind: "text" },
      { name: "details", sql: "a.details", kind: "text" },
      { name: "record", sql: "a.record", kind: "text" },
      { name: "old_record", sql: "a.old_record", kind: "text" },
      { name: "auth_uid", sql: "a.auth_uid", kind: "text" },
      { name: "auth_role", sql: "a.auth_role", kind: "text" },
      { name: "db_role", sql: "a.db_role", kind: "text" },
      { name: "request_id", sql: "a.request_id", kind: "text" },
    ],
    from: "audit.record_version a",
    filters: [
      { param: "from", condition: "a.ts >= $", type: "timestamptz" },
      { param: "to", condition: "a.ts < $", type: "timestamptz" },
    ],
    key: [{ sql: "a.id", type: "bigint" }],
    highWater: { sql: "a.id", table: "audit.record_version", column: "id" },
    roles: ADMINS,
  },
};
