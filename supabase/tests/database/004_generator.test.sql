-- Demo generator: deterministic whatever the chunking, internally consistent, realistic mixes.
-- Starts from an empty shop (demo.reset() inside this transaction; the rollback restores any data).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
set local client_min_messages = warning;

select plan(37);

select demo.reset();
select is((select count(*)::int from public.orders), 0, 'demo.reset() empties the shop');

-- Determinism ------------------------------------------------------------------------------------

select demo.generate(1, 42, '2026-11-26T00:00:00Z');
-- Results kept across demo.reset() calls (checksums, and one generate() report).
create temp table sums (name text primary key, checksum text) on commit drop;
insert into sums values ('one call', demo.checksum());

select demo.reset();
select demo.generate_catalog(42, 12, 100, 100, '2026-11-26T00:00:00Z', 365);
-- Uneven chunks, out of order: a parallel run commits them in any order.
select demo.generate_orders(42, 701, 300, '2026-11-26T00:00:00Z', 365, 1000);
select demo.generate_orders(42, 1, 333, '2026-11-26T00:00:00Z', 365, 1000);
select demo.generate_orders(42, 334, 367, '2026-11-26T00:00:00Z', 365, 1000);
select demo.finish();
insert into sums values ('chunked', demo.checksum());

select is(
  (select checksum from sums where name = 'chunked'),
  (select checksum from sums where name = 'one call'),
  'chunked generation in any order gives the same data as one call'
);

select demo.reset();
select demo.generate(1, 42, '2026-11-26T00:00:00Z');
select is(demo.checksum(), (select checksum from sums where name = 'one call'),
  'the same seed gives the same checksum');

select demo.reset();
select demo.generate(1, 7, '2026-11-26T00:00:00Z');
select isnt(demo.checksum(), (select checksum from sums where name = 'one call'),
  'another seed gives other data');

-- Without p_total, placed_at is drawn per order: still deterministic per id.
select demo.reset();
select demo.generate_catalog(42, 12, 100, 100, '2026-11-26T00:00:00Z', 365);
select demo.generate_orders(42, 1, 500, '2026-11-26T00:00:00Z', 365);
insert into sums values ('random order times', demo.checksum());
select demo.reset();
select demo.generate_catalog(42, 12, 100, 100, '2026-11-26T00:00:00Z', 365);
select demo.generate_orders(42, 251, 250, '2026-11-26T00:00:00Z', 365);
select demo.generate_orders(42, 1, 250, '2026-11-26T00:00:00Z', 365);
select is(demo.checksum(), (select checksum from sums where name = 'random order times'),
  'without p_total, chunking does not change the data either');

-- A realistic shop at scale 3 --------------------------------------------------------------------

select demo.reset();
insert into sums values ('scale 3', demo.generate(3, 42, '2026-11-26T00:00:00Z')::text);
select is(
  (select checksum::jsonb from sums where name = 'scale 3'),
  jsonb_build_object('seed', 42, 'orders', 3000, 'products', 300, 'customers', 300,
    'categories', 12, 'order_items', (select count(*) from public.order_items)),
  'demo.generate(3) reports the row counts it wrote'
);
select is(current_setting('session_replication_role'), 'origin',
  'the generator restores session_replication_role');

select is(
  array[(select count(*) from public.orders), (select count(*) from public.products),
    (select count(*) from public.customers), (select count(*) from public.categories),
    (select count(*) from public.inventory)],
  array[3000::bigint, 300, 300, 12, 300],
  'scale 3 = 3000 orders, 300 products, 300 customers, 12 categories, stock for every product'
);

-- Integrity the skipped foreign key checks would have enforced.
select is_empty(
  $$select o.id from public.orders o
    where not exists (select 1 from public.customers c where c.id = o.customer_id)$$,
  'every order belongs to a generated customer');
select is_empty(
  $$select c.id from public.customers c
    where not exists (select 1 from auth.users u where u.id = c.id and u.email = c.email)$$,
  'every customer has its auth user with the same email');
select is_empty(
  $$select i.order_id, i.line_no from public.order_items i
    where not exists (select 1 from public.orders o where o.id = i.order_id)
       or not exists (select 1 from public.products p where p.id = i.product_id)$$,
  'every order line points at an existing order and product');
select is_empty(
  $$select c.id from public.categories c
    where c.parent_id is not null
      and not exists (select 1 from public.categories p where p.id = c.parent_id)
    union all
    select p.id from public.products p
    where not exists (select 1 from public.categories c where c.id = p.category_id)
    union all
    select m.id from public.stock_movements m
    where not exists (select 1 from public.products p where p.id = m.product_id)$$,
  'categories, products and stock movements reference existing rows');

-- Totals consistent with the lines.
select is_empty(
  $$select o.id from public.orders o
    left join (
      select order_id, sum(line_total_cents) as subtotal, sum(quantity) as units, count(*) as lines
      from public.order_items group by order_id
    ) i on i.order_id = o.id
    where i.lines is null or o.subtotal_cents <> i.subtotal or o.item_count <> i.units
       or o.total_cents <> o.subtotal_cents + o.shipping_cents$$,
  'every order has lines, and its subtotal, item count and total match them');
select is_empty(
  $$select i.order_id from public.order_items i join public.products p on p.id = i.product_id
    where i.unit_price_cents <> p.price_cents$$,
  'lines are priced at the product price');
select is_empty(
  $$select id from public.orders
    where shipping_cents <> case when subtotal_cents >= 5000 then 0 else 490 end$$,
  'shipping is free from 50.00, 4.90 below');
select is_empty(
  $$select order_id from public.order_items group by order_id
    having min(line_no) <> 1 or max(line_no) <> count(*)$$,
  'line numbers run 1..n in every order');
select ok(
  (select avg(lines) between 2.7 and 3.3 and max(lines) <= 10
    from (select count(*) as lines from public.order_items group by order_id) x),
  'baskets hold 1..10 lines, about 3 on average');

-- Time: inside the window, increasing with the id, daily and weekly rhythm.
select ok(
  (select min(placed_at) >= '2025-11-26T00:00:00Z' and max(placed_at) < '2026-11-26T00:00:00Z'
    from public.orders),
  'orders are placed within the 365 days before p_end');
select is_empty(
  $$select id from (
      select id, placed_at, lag(placed_at) over (order by id) as previous from public.orders
    ) o where placed_at < previous$$,
  'placed_at increases with the order id');
select ok(
  (select count(*) filter (where extract(hour from placed_at at time zone 'UTC') between 18 and 21)
      > 3 * count(*) filter (where extract(hour from placed_at at time zone 'UTC') between 2 and 5)
    from public.orders),
  'evenings (18-21 UTC) take over three times the orders of nights (2-5 UTC)');
select ok(
  (select count(*) filter (where extract(isodow from placed_at at time zone 'UTC') = 7)
      > count(*) filter (where extract(isodow from placed_at at time zone 'UTC') = 6)
    from public.orders),
  'Sundays are busier than Saturdays');
select ok(
  (select count(*) filter (where placed_at >= '2026-05-26T00:00:00Z')
      > count(*) filter (where placed_at < '2026-05-26T00:00:00Z')
    from public.orders),
  'the shop grows: the second half of the year has more orders');

-- Status mix by age.
select ok(
  (select count(*) filter (where status = 'cancelled')::numeric / count(*) between 0.035 and 0.065
    from public.orders),
  'about 5 % of orders are cancelled');
select ok(
  (select count(*) filter (where status = 'refunded')::numeric / count(*) between 0.01 and 0.03
    from public.orders),
  'about 2 % of orders are refunded');
select ok(
  (select count(*) filter (where status = 'delivered')::numeric / count(*) > 0.85
    from public.orders),
  'most orders are delivered');
select is_empty(
  $$select id from public.orders
    where status in ('pending', 'paid') and placed_at < '2026-11-12T00:00:00Z'$$,
  'only orders of the last two weeks are still pending or paid');
select is_empty(
  $$select id from public.orders
    where status = 'delivered' and placed_at >= '2026-11-25T00:00:00Z'$$,
  'orders of the last day are not delivered yet');
select is_empty(
  $$select id from public.orders where updated_at < placed_at or updated_at > '2026-11-26T00:00:00Z'$$,
  'updated_at falls between placed_at and p_end');
select ok(
  (select bool_and(c.created_at <= o.placed_at)
    from public.orders o join public.customers c on c.id = o.customer_id),
  'customers signed up before their orders');

-- Catalog and stock.
select ok(
  (with sold as (
      select product_id, count(*) as n, row_number() over (order by count(*) desc) as rank
      from public.order_items group by product_id
    )
    select sum(n) filter (where rank <= 30)::numeric / sum(n) > 0.35 from sold),
  'popularity is skewed: the top 10 % of products take over 35 % of the lines');
select ok(
  (select count(*) filter (where on_hand = 0) > 0 and count(*) filter (where on_hand between 1 and 9) > 0
      and count(*) filter (where on_hand >= 10) > count(*) / 2
    from public.inventory),
  'stock has sold-out, low and well-stocked products');
select is_empty(
  $$select i.product_id from public.inventory i
    left join (select product_id, sum(delta) as total from public.stock_movements group by 1) m
      on m.product_id = i.product_id
    where i.on_hand <> coalesce(m.total, 0)$$,
  'the stock ledger adds up to on_hand');
select ok(
  (select count(*) filter (where parent_id is null) = 3
      and count(*) filter (where parent_id is not null) = 9
    from public.categories),
  '12 categories form a tree of 3 roots with 9 children');
select ok(
  (select count(*) filter (where not active)::numeric / count(*) between 0.01 and 0.10
    from public.products),
  'a few products are inactive');

-- Guards and follow-up writes.
select throws_ok(
  $$select demo.generate_catalog(42, 12, 100, 100)$$,
  '55000', null, 'the generator refuses a shop that already has data');
select throws_ok(
  $$select demo.generate_orders(42, 2990, 20, '2026-11-26T00:00:00Z', 365, 3000)$$,
  '22023', null, 'generate_orders refuses ids beyond p_total');
select lives_ok(
  $$insert into public.categories (name, slug) values ('After demo', 'after-demo')$$,
  'demo.finish() moved the identity sequences past the generated ids');

select * from finish();
rollback;
