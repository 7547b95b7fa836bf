-- Indexes that serve the shop's hot read queries; each comment names the query it serves.
--
-- Text search uses full-text search (the stored products.search_vector with a GIN index), not
-- trigrams: shoppers type whole words and word beginnings, which a tsquery with prefix terms
-- matches exactly; ts_rank can weigh name and SKU above description; and the GIN index on the
-- lexemes is a fraction of the size of a trigram index over the same text.
--
-- Partial indexes cover only active products (what every catalog query reads) and only the orders
-- the queries filter on, so inactive products and cancelled orders cost no index space or upkeep.

-- Products -------------------------------------------------------------------------------------------

-- fastupdate = off: the catalog changes rarely, and without a pending list every search reads the
-- index alone instead of also scanning unmerged entries, which keeps search latency flat.
create index if not exists products_search_vector_idx on public.products
  using gin (search_vector) with (fastupdate = off)
  where active;
comment on index public.products_search_vector_idx is
  'search_products(p_query => ...): text search over active products (bitmap scan on the tsquery).';

create index if not exists products_category_id_price_cents_idx on public.products
  (category_id, price_cents, id)
  where active;
comment on index public.products_category_id_price_cents_idx is
  'search_products(p_category_id => ...) category pages in price order and price ranges within a '
  'category; the category product stats recount (count, min and max price per category) as an '
  'index-only scan.';

-- The sort indexes include the filter columns (category, price): a page is read in sort order as
-- an index-only scan that skips other categories and prices without visiting the table.
create index if not exists products_price_cents_idx on public.products (price_cents, id)
  include (category_id)
  where active;
comment on index public.products_price_cents_idx is
  'search_products(p_sort => price | -price) without words: keyset pages on (price_cents, id), '
  'price ranges, category filter from the included category_id (index-only).';

create index if not exists products_name_idx on public.products (name, id)
  include (category_id, price_cents)
  where active;
comment on index public.products_name_idx is
  'search_products(p_sort => name | -name) without words: keyset pages on (name, id), category '
  'and price filters from the included columns (index-only).';

create index if not exists products_created_at_idx on public.products (created_at, id)
  include (category_id, price_cents)
  where active;
comment on index public.products_created_at_idx is
  'search_products(p_sort => newest, or relevance without words): keyset pages on '
  '(created_at, id) read backwards, category and price filters from the included columns '
  '(index-only).';

-- Orders ---------------------------------------------------------------------------------------------

create index if not exists orders_placed_at_revenue_idx on public.orders (placed_at)
  include (id, subtotal_cents, item_count)
  where status in ('paid', 'shipped', 'delivered');
comment on index public.orders_placed_at_revenue_idx is
  'Sales dashboard and sales views: orders that count as revenue within a time window, as an '
  'index-only scan (placed_at, subtotal, units).';

create index if not exists orders_placed_at_open_idx on public.orders (placed_at)
  include (total_cents)
  where status in ('pending', 'paid');
comment on index public.orders_placed_at_open_idx is
  'Sales dashboard open orders (pending or paid, not shipped yet): count, value and oldest, as an '
  'index-only scan over the few open orders.';

-- Order lines ----------------------------------------------------------------------------------------

create index if not exists order_items_order_id_covering_idx on public.order_items (order_id)
  include (product_id, quantity, line_total_cents);
comment on index public.order_items_order_id_covering_idx is
  'Lines of a set of orders for the sales dashboard and sales views (product, quantity, line '
  'total) as an index-only scan.';
