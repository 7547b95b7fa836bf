/**
 * Catalog reads: product search and listing, product detail, categories. Public data: the queries
 * filter on active products themselves, so they run as one statement on the pooled connection
 * without a per-request transaction, each in one round trip (typed parameters: db/params.ts).
 * @module
 */
import type { Sql } from "../_shared/db/client.ts";
import { bool, text } from "../_shared/db/params.ts";

/** Product search filters, as validated from the query string. */
export interface ProductFilters {
  q?: string;
  category_id?: number;
  min_price?: number;
  max_price?: number;
  in_stock?: boolean;
  sort: string;
  limit: number;
  cursor?: Record<string, unknown>;
}

/** Most rows `public.search_products` returns per call (its `p_limit` contract). */
export const SEARCH_MAX_ROWS = 100;

/**
 * One page of products plus the position after its last row (undefined on the last page).
 * Whether there is a next page is known by asking for one row more than the page; a full page of
 * the SQL function's maximum cannot ask for more, so it asks for one row after the page instead.
 */
export async function searchProducts(sql: Sql, f: ProductFilters) {
  return await nextPage(sql, f, await searchRows(sql, f, pageLimit(f), f.cursor));
}

/**
 * The products page of a category, or `undefined` when the category does not exist: the
 * existence check and the page go out together (one round trip).
 */
export async function categoryProducts(sql: Sql, categoryId: number, f: ProductFilters) {
  const filters = { ...f, category_id: categoryId };
  const [[{ found }], rows] = await sql.batch(
    [
      sql`select exists (select 1 from public.categories where id = ${categoryId}) as found`,
      searchRows(sql, filters, pageLimit(filters), filters.cursor),
    ] as const,
  );
  return found ? await nextPage(sql, filters, rows) : undefined;
}

const pageLimit = (f: ProductFilters) => Math.min(f.limit + 1, SEARCH_MAX_ROWS);

async function nextPage(sql: Sql, f: ProductFilters, rows: readonly Record<string, unknown>[]) {
  let more = rows.length > f.limit;
  if (!more && rows.length === f.limit && f.limit === SEARCH_MAX_ROWS) {
    const last = rows[rows.length - 1].cursor as Record<string, unknown>;
    more = (await searchRows(sql, f, 1, last)).length > 0;
  }
  const pageRows = rows.slice(0, f.limit);
  return { rows: pageRows, next: more ? pageRows[pageRows.length - 1].cursor : undefined };
}

function searchRows(sql: Sql, f: ProductFilters, limit: number, after?: Record<string, unknown>) {
  return sql`
    select id, sku, name, price_cents, currency, category_id, available, cursor
    from public.search_products(
      ${text(sql, f.q)}, ${f.category_id ?? null}, ${f.min_price ?? null}, ${f.max_price ?? null},
      ${bool(sql, f.in_stock)}, ${text(sql, f.sort)}, ${limit}, ${
    after ? sql.json(after as never) : null
  }
    )`;
}

/** An active product with its category and available stock, or undefined. */
export async function productDetail(sql: Sql, id: number) {
  const [row] = await sql`
    select p.id, p.sku, p.name, p.description, p.price_cents, p.currency, p.category_id,
           case when c.id is null then null
                else json_build_object('id', c.id, 'name', c.name, 'slug', c.slug) end as category,
           coalesce(i.on_hand - i.reserved, 0) as available
    from public.products p
    left join public.categories c on c.id = p.category_id
    left join public.inventory i on i.product_id = p.id
    where p.id = ${id} and p.active`;
  return row;
}

/** The category listing at one version of it (see {@linkcode categoryListing}). */
export interface CategoryListing {
  /** `public.category_listing_version()` when the rows were read: equal versions, equal rows. */
  version: number;
  rows: readonly Record<string, unknown>[];
}

let listing: CategoryListing | undefined;

/**
 * Every category with live product counts and price ranges, kept by the isolate and revalidated
 * on every call against the listing's version (one tiny read; migration 20261204100100): the
 * 1,000-row listing is read again only once something in it changed. The version is read before
 * the rows, so rows are never older than the version they are kept under.
 */
export async function categoryListing(sql: Sql): Promise<CategoryListing> {
  if (listing) {
    const [{ version }] = await sql`select public.category_listing_version() as version`;
    if (version === listing.version) return listing;
  }
  const [[{ version }], rows] = await sql.batch(
    [
      sql`select public.category_listing_version() as version`,
      sql`
      select id, parent_id, name, slug, position, product_count, min_price_cents, max_price_cents
      from public.list_categories()`,
    ] as const,
  );
  listing = { version: Number(version), rows };
  return listing;
}
