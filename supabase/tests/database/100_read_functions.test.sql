-- The five hot read operations: search_products, list_categories (live counts), order_details,
-- inventory_levels, with the roles PostgREST would use. Fixture ids are negative (never generated)
-- and the words zephyr, quartz and basalt appear nowhere in the demo catalog.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(49);

-- Fixtures ------------------------------------------------------------------------------------------

insert into public.categories (id, parent_id, name, slug) overriding system value values
  (-100, null, 'Fixture root', 'fixture-root'),
  (-101, -100, 'Fixture child', 'fixture-child'),
  (-102, -101, 'Fixture grandchild', 'fixture-grandchild'),
  (-103, null, 'Fixture other', 'fixture-other');
insert into public.products (id, sku, name, description, price_cents, category_id, active, created_at)
overriding system value values
  (-101, 'ZQX-000001', 'Zephyr Quartz Lamp', 'A lamp.', 1000, -101, true, '2026-01-01'),
  (-102, 'ZQX-000002', 'Zephyr Quartz Mug', 'A mug.', 2000, -102, true, '2026-01-02'),
  (-103, 'ZQX-000003', 'Zephyr Basalt Lamp', 'A lamp.', 3000, -103, true, '2026-01-03'),
  (-104, 'ZQX-000004', 'Zephyr Quartz Vase', 'A vase.', 1500, -102, false, '2026-01-04'),
  (-105, 'ZQX-000005', 'Quartz Clock', 'Mentions zephyr once.', 2500, -100, true,
    '2026-01-05');
insert into public.inventory (product_id, on_hand, reserved) values
  (-101, 5, 0), (-102, 0, 0), (-103, 10, 10), (-104, 4, 0), (-105, 3, 1);

insert into auth.users (id, aud, role, email, raw_app_meta_data, created_at, updated_at) values
  ('00000000-0000-4000-8000-0000000001a1', 'authenticated', 'authenticated', 'rf-a@example.test',
    '{"provider": "email"}', now(), now()),
  ('00000000-0000-4000-8000-0000000001b1', 'authenticated', 'authenticated', 'rf-b@example.test',
    '{"provider": "email"}', now(), now()),
  ('00000000-0000-4000-8000-0000000001ad', 'authenticated', 'authenticated',
    'rf-admin@example.test', '{"provider": "email", "role": "admin"}', now(), now());
insert into public.customers (id, email, full_name) values
  ('00000000-0000-4000-8000-0000000001a1', 'rf-a@example.test', 'Reader A'),
  ('00000000-0000-4000-8000-0000000001b1', 'rf-b@example.test', 'Reader B');
insert into public.orders (id, customer_id, status, subtotal_cents, shipping_cents, total_cents,
  item_count, placed_at) overriding system value
values (-100, '00000000-0000-4000-8000-0000000001a1', 'paid', 4000, 490, 4490, 3, '2026-02-01');
insert into public.order_items values (-100, 1, -101, 1, 1000, 1000), (-100, 2, -104, 2, 1500, 3000);

create function pg_temp.ids(p_sql text) returns bigint[] language plpgsql as $$
declare
  v bigint[];
begin
  execute 'select coalesce(array_agg(id order by ord), ''{}'') from (select id, row_number() over () as ord from ('
    || p_sql || ') s) t' into v;
  return v;
end
$$;

-- Every page of a search, one row at a time through the cursors, concatenated.
create function pg_temp.paged(p_query text, p_sort text) returns bigint[] language plpgsql as $$
declare
  v_ids bigint[] := '{}';
  v_after jsonb;
  v_row record;
begin
  loop
    select * into v_row from public.search_products(p_query, p_sort => p_sort, p_limit => 1,
      p_after => v_after);
    exit when not found;
    v_ids := v_ids || v_row.id;
    v_after := v_row.cursor;
  end loop;
  return v_ids;
end
$$;

-- search_products -----------------------------------------------------------------------------------

select is(pg_temp.ids($$select id from public.search_products('zephyr', p_sort => 'price')$$),
  array[-101, -102, -105, -103]::bigint[],
  'search finds active products by name or description, never inactive ones');
select is(pg_temp.ids($$select id from public.search_products('zephyr lamp', p_sort => 'price')$$),
  array[-101, -103]::bigint[], 'every word must match');
select is(pg_temp.ids($$select id from public.search_products('zephyr quar', p_sort => 'price')$$),
  array[-101, -102, -105]::bigint[], 'the last word matches as a prefix (typing ahead)');
select is(pg_temp.ids($$select id from public.search_products('zeph quartz', p_sort => 'price')$$),
  '{}'::bigint[], 'earlier words match whole');
select is((select id from public.search_products('ZQX-000003') limit 1), -103::bigint,
  'a SKU finds its product first');
select is(pg_temp.ids($$select id from public.search_products('zqx-00000', p_sort => 'price')$$),
  array[-101, -102, -105, -103]::bigint[], 'a SKU prefix finds the SKUs it starts');
select ok((select count(*) from public.search_products('!!!', p_limit => 5)) = 5,
  'text without words searches nothing and lists products');
select is(pg_temp.ids($$select id from public.search_products('zephyr', -100, p_sort => 'price')$$),
  array[-101, -102, -105]::bigint[], 'a category filter includes its descendants');
select is(pg_temp.ids($$select id from public.search_products('zephyr', -101, p_sort => 'price')$$),
  array[-101, -102]::bigint[], 'a child category includes its own children only');
select is(pg_temp.ids($$select id from public.search_products('zephyr', -999)$$), '{}'::bigint[],
  'an unknown category matches nothing');
select is(pg_temp.ids($$select id from public.search_products('zephyr', null, 1500, 2500, p_sort => 'price')$$),
  array[-102, -105]::bigint[], 'the price range is inclusive');
select is(pg_temp.ids($$select id from public.search_products('zephyr', p_in_stock => true, p_sort => 'price')$$),
  array[-101, -105]::bigint[], 'in stock: available (on hand - reserved) above zero');
select is(pg_temp.ids($$select id from public.search_products('zephyr', p_in_stock => false, p_sort => 'price')$$),
  array[-102, -103]::bigint[], 'out of stock: nothing available, reserved stock included');
select is(
  (select array_agg(available order by id) from public.search_products('zephyr')),
  array[2, 0, 0, 5], 'available is on hand minus reserved');
select is(pg_temp.ids($$select id from public.search_products('zephyr', p_sort => '-price')$$),
  array[-103, -105, -102, -101]::bigint[], 'sort -price');
select is(pg_temp.ids($$select id from public.search_products('zephyr', p_sort => 'name')$$),
  array[-105, -103, -101, -102]::bigint[], 'sort name');
select is(pg_temp.ids($$select id from public.search_products('zephyr', p_sort => 'newest')$$),
  array[-105, -103, -102, -101]::bigint[], 'sort newest');
select ok(
  (select bool_and(r.rank <= r.prev_rank or r.prev_rank is null) from (
    select rank, lag(rank) over () as prev_rank from public.search_products('zephyr quartz')) r),
  'relevance returns rows by decreasing rank');
select ok(
  (select (select rank from public.search_products('zephyr', p_limit => 100) where id = -101)
    > (select rank from public.search_products('zephyr', p_limit => 100) where id = -105)),
  'a name match ranks above a description-only match');
select is(pg_temp.ids($$select id from public.search_products(null, -100, p_sort => 'relevance')$$),
  array[-105, -102, -101]::bigint[], 'without words, relevance is newest first');
select is(pg_temp.ids($$select id from public.search_products('zeph', p_sort => 'price')$$),
  array[-101, -102, -105, -103]::bigint[], 'a word beginning matches whole words');

select is(pg_temp.paged('zephyr', s.sort), pg_temp.ids(format(
    $$select id from public.search_products('zephyr', p_sort => %L)$$, s.sort)),
  format('keyset pages (sort %s) return every row once, in order', s.sort))
from unnest(array['relevance', 'price', '-price', 'name', '-name', 'newest']) s(sort);

select throws_ok($$select * from public.search_products('x', p_sort => 'popular')$$, '22023',
  null, 'an unknown sort is refused');
select throws_ok($$select * from public.search_products('x', p_limit => 0)$$, '22023', null,
  'a page needs at least one row');
select throws_ok($$select * from public.search_products('x', p_limit => 101)$$, '22023', null,
  'a page has at most 100 rows');
select throws_ok(
  $$select * from public.search_products('x', p_sort => 'price', p_after => '{"name": "a", "id": 1}')$$,
  '22023', null, 'a cursor of another sort is refused');
select throws_ok(
  $$select * from public.search_products('x', p_sort => 'price', p_after => '{"price_cents": "cheap", "id": 1}')$$,
  '22023', null, 'a cursor with a bad value is refused');

select set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;
select is(pg_temp.ids($$select id from public.search_products('zephyr', p_sort => 'price')$$),
  array[-101, -102, -105, -103]::bigint[], 'anon gets the same search results');
reset role;

-- list_categories -----------------------------------------------------------------------------------

create temporary view live_category_counts as
  select c.id, count(p.id) as product_count, min(p.price_cents) as min_price_cents,
    max(p.price_cents) as max_price_cents
  from public.categories c
  left join public.products p on p.category_id = c.id and p.active
  group by c.id;

select set_eq(
  'select id, product_count, min_price_cents, max_price_cents from public.list_categories()',
  'select * from live_category_counts',
  'list_categories equals the live aggregate of active products');
select results_eq(
  $$select id, product_count, min_price_cents, max_price_cents from public.list_categories()
    where id in (-100, -101, -102, -103) order by id$$,
  $$values (-103::bigint, 1::bigint, 3000::bigint, 3000::bigint),
    (-102, 1, 2000, 2000), (-101, 1, 1000, 1000), (-100, 1, 2500, 2500)$$,
  'counts are per category (own products, active only) with their price range');

update public.products set active = false where id = -101;
update public.products set price_cents = 500 where id = -102;
update public.products set category_id = -103 where id = -105;
update public.products set active = true where id = -104;
delete from public.order_items where product_id = -101;
delete from public.products where id = -103;
insert into public.products (id, sku, name, price_cents, category_id) overriding system value
values (-106, 'ZQX-000006', 'Zephyr Quartz Bowl', 9900, -101);
select set_eq(
  'select id, product_count, min_price_cents, max_price_cents from public.list_categories()',
  'select * from live_category_counts',
  'after deactivating, repricing, moving, deleting and adding products the counts still match');
select results_eq(
  $$select id, product_count, min_price_cents, max_price_cents from public.list_categories()
    where id in (-100, -101, -102, -103) order by id$$,
  $$values (-103::bigint, 1::bigint, 2500::bigint, 2500::bigint),
    (-102, 2, 500, 1500), (-101, 1, 9900, 9900), (-100, 0, null::bigint, null::bigint)$$,
  'a category left without active products shows 0 and no price range');
delete from public.categories where id = -103;
select is((select count(*)::int from private.category_product_stats where category_id = -103), 0,
  'deleting a category drops its counts');
select is((select parent_id from public.list_categories() limit 1), null::bigint,
  'root categories come first');
set local role anon;
select ok((select count(*) from public.list_categories()) > 0, 'anon lists categories');
reset role;

-- order_details ------------------------------------------------------------------------------------

update public.products set active = false where id = -104;
insert into public.order_items values (-100, 3, -102, 1, 2000, 2000);

select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000001a1", "role": "authenticated"}', true);
set local role authenticated;
select is(public.order_details(-100) - 'items' - 'placed_at',
  jsonb_build_object('id', -100, 'status', 'paid', 'currency', 'EUR', 'subtotal_cents', 4000,
    'shipping_cents', 490, 'total_cents', 4490, 'item_count', 3,
    'customer', jsonb_build_object('id', '00000000-0000-4000-8000-0000000001a1',
      'email', 'rf-a@example.test', 'full_name', 'Reader A')),
  'the owner reads the order with its customer');
select is(public.order_details(-100) -> 'items',
  '[{"line_no": 2, "product_id": -104, "sku": null, "name": null, "quantity": 2,
     "unit_price_cents": 1500, "line_total_cents": 3000},
    {"line_no": 3, "product_id": -102, "sku": "ZQX-000002", "name": "Zephyr Quartz Mug",
     "quantity": 1, "unit_price_cents": 2000, "line_total_cents": 2000}]'::jsonb,
  'lines come in order; a product the customer may no longer see keeps its line without name');
reset role;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000001b1", "role": "authenticated"}', true);
set local role authenticated;
select is(public.order_details(-100), null, 'another customer gets null');
reset role;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000001ad", "role": "authenticated",'
  || ' "app_metadata": {"role": "admin"}}', true);
set local role authenticated;
select is(public.order_details(-100) -> 'items' -> 0 ->> 'name', 'Zephyr Quartz Vase',
  'an admin sees every product name');
select is(public.order_details(-999), null, 'an unknown order is null');
reset role;
select set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;
select throws_ok('select public.order_details(-100)', '42501', null, 'anon cannot read orders');
reset role;

-- inventory_levels -----------------------------------------------------------------------------------

set local role anon;
select results_eq(
  $$select product_id, sku, on_hand, reserved, available
    from public.inventory_levels(array[-102, -104, -999], array['ZQX-000005', 'ZQX-000002'])$$,
  $$values (-105::bigint, 'ZQX-000005', 3, 1, 2), (-102::bigint, 'ZQX-000002', 0, 0, 0)$$,
  'stock by ids and SKUs, each product once, active only, by id');
select is((select count(*)::int from public.inventory_levels()), 0,
  'no ids and no SKUs: no rows');
reset role;
insert into public.products (id, sku, name, price_cents) overriding system value
values (-107, 'ZQX-000007', 'Zephyr without stock row', 100);
select results_eq(
  $$select on_hand, reserved, available, updated_at from public.inventory_levels(array[-107])$$,
  $$values (0, 0, 0, null::timestamptz)$$, 'a product without a stock row shows zeros');

select * from finish();
rollback;
