/**
 * The `api` function: the shop API under `/api/v1` and `/api/v2` (see schemas.ts for how they
 * differ), its OpenAPI 3.1 document at `/api/openapi.json`, and version resolution from the path,
 * `API-Version` / `Accept-Version` headers or the `api-version` query parameter.
 * @module
 */
import type { Context } from "hono";
import { createFunctionApp } from "../_shared/http/create_app.ts";
import { ApiRegistry, type CachePolicy } from "../_shared/http/openapi.ts";
import { ProblemError, problems } from "../_shared/http/problem.ts";
import { apiVersioning } from "../_shared/http/versioning.ts";
import { callerOf } from "../_shared/auth/caller.ts";
import { getDb } from "../_shared/db/client.ts";
import { requestDelivery } from "../_shared/notify/request_delivery.ts";
import { VERSION } from "../_shared/version.ts";
import * as audit from "./audit.ts";
import * as catalog from "./catalog.ts";
import * as orders from "./orders.ts";
import * as reports from "./reports.ts";
import * as present from "./presenters.ts";
import * as s from "./schemas.ts";
import { apiProtection } from "./protection.ts";
import { SHOP_PROBLEM_TYPES, shopCall } from "./shop_errors.ts";

const versioning = apiVersioning({
  basePath: "/api",
  supported: s.VERSIONS,
  defaultVersion: "v1",
  deprecated: {
    v1: {
      deprecatedAt: new Date("2026-11-01T00:00:00Z"),
      sunsetAt: new Date("2027-11-01T00:00:00Z"),
      successor: "v2",
    },
  },
  unversioned: ["/api/openapi.json"],
});

const app = createFunctionApp("api", { getPath: versioning.getPath });
app.use(versioning.middleware);
app.all(versioning.unsupportedPath, versioning.unsupported);

/** The route table and the OpenAPI document describing it. */
export const api = new ApiRegistry(app, {
  basePath: "/api",
  versions: s.VERSIONS,
  deprecated: ["v1"],
  title: "comptoir shop API",
  version: VERSION,
  description:
    "Products, categories, orders, inventory and the sales dashboard of a comptoir shop.",
  onRefused: audit.auditRefusal,
  protect: apiProtection.middleware,
  problemTypes: SHOP_PROBLEM_TYPES,
});

/**
 * Catalog answers are the same for every caller: caches may keep them a minute, and serve them
 * for five more while they revalidate (an ETag match is a 304 without a body).
 */
const CATALOG_CACHE: CachePolicy = { maxAgeSeconds: 60, staleWhileRevalidateSeconds: 300 };

/**
 * Reads are retried on transient database failures; POST /orders is not retried here: a client
 * that lost its answer retries with its Idempotency-Key, which replays the committed order.
 */
const READ = { idempotent: true } as const;

/** The category listing as last rendered, per API version. */
const renderedCategories = new Map<string, { version: number; body: string }>();

/** Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 §13.1.2). */
function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((tag) => {
    const t = tag.trim();
    return t === "*" || t.replace(/^W\//, "") === etag;
  });
}

const notFound = (what: string) => new ProblemError(problems.notFound(`${what} not found`));

api.route({
  method: "get",
  path: "/products",
  summary: "Search and list products",
  description: "Full-text search with category, price and stock filters; keyset pagination.",
  tags: ["catalog"],
  request: { query: s.searchQuery },
  responses: {
    200: (v) => ({ description: "A page of products", schema: s.listSchema(s.productSchema)(v) }),
  },
  errors: [400, 429, 503],
  rateLimit: "catalog",
  cache: CATALOG_CACHE,
  handler: async (c, { query }, v) => {
    const { rows, next } = await shopCall(() => catalog.searchProducts(getDb(), query), READ);
    return c.json(present.page(v, rows.map((r) => present.product(r, v)), query.limit, next));
  },
});

api.route({
  method: "get",
  path: "/products/:id",
  summary: "One product",
  tags: ["catalog"],
  request: { params: s.idParams },
  responses: { 200: (v) => ({ description: "The product", schema: s.productDetailSchema(v) }) },
  errors: [400, 404, 429, 503],
  rateLimit: "catalog",
  cache: CATALOG_CACHE,
  handler: async (c, { params }, v) => {
    const row = await shopCall(() => catalog.productDetail(getDb(), params.id), READ);
    if (!row) throw notFound(`Product ${params.id}`);
    return c.json({
      ...present.product(row, v),
      description: row.description,
      category: row.category,
    });
  },
});

api.route({
  method: "get",
  path: "/categories",
  summary: "Categories with live product counts and price ranges",
  tags: ["catalog"],
  request: {},
  responses: {
    200: (v) => ({
      description: "Every category",
      schema: s.categorySchema(v).array().transform((data) => ({ data })),
    }),
  },
  errors: [429, 503],
  rateLimit: "catalog",
  cache: CATALOG_CACHE,
  handler: async (c, _input, v) => {
    const listing = await shopCall(() => catalog.categoryListing(getDb()), READ);
    // The answer is a function of the listing's version, the API version and this release: so is
    // its ETag, and the rendered body is kept until the listing changes.
    const etag = `"categories-${VERSION}-${v}-${listing.version}"`;
    c.header("etag", etag);
    if (ifNoneMatch(c.req.header("if-none-match"), etag)) return c.body(null, 304);
    let rendered = renderedCategories.get(v);
    if (rendered?.version !== listing.version) {
      rendered = {
        version: listing.version,
        body: JSON.stringify({ data: listing.rows.map((r) => present.category(r, v)) }),
      };
      renderedCategories.set(v, rendered);
    }
    return c.body(rendered.body, 200, { "content-type": "application/json" });
  },
});

api.route({
  method: "get",
  path: "/categories/:id/products",
  summary: "Products of a category and its subcategories",
  tags: ["catalog"],
  request: { params: s.idParams, query: s.categoryProductsQuery },
  responses: {
    200: (v) => ({ description: "A page of products", schema: s.listSchema(s.productSchema)(v) }),
  },
  errors: [400, 404, 429, 503],
  rateLimit: "catalog",
  cache: CATALOG_CACHE,
  handler: async (c, { params, query }, v) => {
    const page = await shopCall(
      () => catalog.categoryProducts(getDb(), params.id, query),
      READ,
    );
    if (!page) throw notFound(`Category ${params.id}`);
    return c.json(
      present.page(v, page.rows.map((r) => present.product(r, v)), query.limit, page.next),
    );
  },
});

api.route({
  method: "get",
  path: "/inventory",
  summary: "Real-time stock of products by id or SKU",
  tags: ["inventory"],
  request: { query: s.inventoryQuery },
  responses: { 200: { description: "Stock levels", schema: s.inventorySchema } },
  errors: [400, 429, 503],
  rateLimit: "inventory",
  handler: async (c, { query }) => {
    const rows = await shopCall(() => reports.inventoryLevels(getDb(), query), READ);
    c.header("cache-control", "no-store");
    return c.json({ data: rows });
  },
});

api.route({
  method: "post",
  path: "/orders",
  summary: "Place an order",
  description: "Prices come from the catalog, stock is reserved atomically, totals are computed " +
    "server-side. Send an Idempotency-Key header to make retries safe: the same key and body give " +
    "the same order (200 with Idempotent-Replayed: true); the same key with another body is a 422.",
  tags: ["orders"],
  roles: ["customer", "admin"],
  request: { body: s.createOrderBody, headers: s.createOrderHeaders },
  responses: {
    201: (v) => ({
      description: "The order placed",
      schema: s.orderSchema(v),
      headers: { location: "URL of the order" },
    }),
    200: (v) => ({
      description: "The order an earlier request with this Idempotency-Key placed",
      schema: s.orderSchema(v),
      headers: { "idempotent-replayed": "true" },
    }),
  },
  errors: [400, 401, 403, 409, 413, 415, 422, 429, 503],
  rateLimit: "orders_create",
  handler: async (c, { body, headers }, v) => {
    const { order, replayed } = await shopCall(() =>
      orders.placeOrder(getDb(), callerOf(c), body.items, headers["idempotency-key"])
    );
    // The order's confirmation was queued in its transaction: deliver it now, off the response.
    if (!replayed) requestDelivery();
    c.header("location", `/functions/v1/api/${v}/orders/${order.id}`);
    if (replayed) c.header("idempotent-replayed", "true");
    return c.json(present.order(order, v), replayed ? 200 : 201);
  },
});

api.route({
  method: "get",
  path: "/orders",
  summary: "The caller's orders, newest first",
  tags: ["orders"],
  roles: ["customer", "admin"],
  request: { query: s.ordersQuery },
  responses: {
    200: (v) => ({
      description: "A page of orders",
      schema: s.listSchema(s.orderSummarySchema)(v),
    }),
  },
  errors: [400, 401, 429, 503],
  rateLimit: "orders_read",
  handler: async (c, { query }, v) => {
    const { rows, next } = await shopCall(
      () => orders.listOrders(getDb(), callerOf(c), query),
      READ,
    );
    return c.json(present.page(v, rows.map((r) => present.orderSummary(r, v)), query.limit, next));
  },
});

api.route({
  method: "get",
  path: "/orders/:id",
  summary: "One of the caller's orders with its lines",
  tags: ["orders"],
  roles: ["customer", "admin", "service_role"],
  request: { params: s.idParams },
  responses: { 200: (v) => ({ description: "The order", schema: s.orderSchema(v) }) },
  errors: [400, 401, 404, 429, 503],
  rateLimit: "orders_read",
  handler: async (c, { params }, v) => {
    const doc = await shopCall(
      () => orders.orderDetails(getDb(), callerOf(c), params.id),
      READ,
    );
    // RLS hides other customers' orders: they are indistinguishable from missing ones.
    if (!doc) throw notFound(`Order ${params.id}`);
    return c.json(present.order(doc, v));
  },
});

api.route({
  method: "get",
  path: "/dashboard/sales",
  summary: "Sales KPIs for the last N days with the previous period for comparison (admins)",
  tags: ["dashboard"],
  roles: ["admin", "service_role"],
  request: { query: s.dashboardQuery },
  responses: { 200: { description: "The dashboard", schema: s.dashboardSchema } },
  errors: [400, 401, 403, 429, 503],
  rateLimit: "dashboard",
  handler: async (c, { query }) => {
    return c.json(
      await shopCall(() => reports.salesDashboard(getDb(), callerOf(c), query.days), READ),
    );
  },
});

api.route({
  method: "get",
  path: "/dashboard/top-products",
  summary: "Best-selling products of the last N days (admins)",
  tags: ["dashboard"],
  roles: ["admin", "service_role"],
  request: { query: s.topProductsQuery },
  responses: { 200: { description: "Top products", schema: s.topProductsSchema } },
  errors: [400, 401, 403, 429, 503],
  rateLimit: "dashboard",
  handler: async (c, { query }) => {
    const data = await shopCall(
      () => reports.topProducts(getDb(), callerOf(c), query.days, query.limit),
      READ,
    );
    return c.json({ data });
  },
});

api.route({
  method: "get",
  path: "/orders/:id/history",
  summary: "Every recorded change of one of the caller's orders and its lines, oldest first",
  tags: ["orders", "audit"],
  roles: ["customer", "admin", "service_role"],
  versions: ["v2"],
  request: { params: s.idParams, query: s.orderHistoryQuery },
  responses: { 200: { description: "A page of audit entries", schema: s.auditPageSchema } },
  errors: [400, 401, 404, 429, 503],
  rateLimit: "orders_read",
  handler: async (c, { params, query }, v) => {
    const found = await shopCall(
      () => audit.orderHistory(getDb(), callerOf(c), params.id, query),
      READ,
    );
    // RLS hides other customers' orders: they are indistinguishable from missing ones.
    if (!found) throw notFound(`Order ${params.id}`);
    return c.json(present.page(v, found.rows, query.limit, found.next));
  },
});

api.route({
  method: "get",
  path: "/admin/audit",
  summary: "Search the audit trail: row changes and application events, newest first (admins)",
  description: "Filters combine with AND; keyset pagination over (ts, id). Each search is itself " +
    "recorded as an audit.read event.",
  tags: ["audit"],
  roles: ["admin", "service_role"],
  versions: ["v2"],
  request: { query: s.auditQuery },
  responses: { 200: { description: "A page of audit entries", schema: s.auditPageSchema } },
  errors: [400, 401, 403, 429, 503],
  rateLimit: "dashboard",
  handler: async (c, { query }, v) => {
    const found = await shopCall(
      () => audit.searchAudit(getDb(), callerOf(c), query),
      READ,
    );
    return c.json(present.page(v, found.rows, query.limit, found.next));
  },
});

const openapi = api.document();
app.get("/openapi.json", (c: Context) => c.json(openapi));
const protectionSummary = apiProtection.summary(api.policies());
console.info(JSON.stringify(protectionSummary));

/** What is in force in this isolate, as its start-up line logged it (the dev server prints it). */
export function apiProtectionSummary(): Readonly<Record<string, unknown>> {
  return protectionSummary;
}

/** The function's handler. */
export default { fetch: app.fetch };
