-- Sales rollups: the dashboard of any window read from them equals the one computed from the
-- orders (with a subcategory, an uncategorised product, cancelled and refunded orders, a day
-- without sales); a change to an order is logged with its day and only those days are
-- recomputed; TRUNCATE empties them; the job runs every minute.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(13);

insert into auth.users (id, aud, role, email, raw_app_meta_data, created_at, updated_at) values
  ('00000000-0000-4000-8000-0000000003a1', 'authenticated', 'authenticated', 'ru-a@example.test',
    '{"provider": "email"}', now(), now());
insert into public.customers (id, email) values
  ('00000000-0000-4000-8000-0000000003a1', 'ru-a@example.test');
insert into public.categories (id, name, slug, parent_id) overriding system value
values (-300, 'RU root', 'ru-root', null), (-301, 'RU child', 'ru-child', -300);
insert into public.products (id, sku, name, price_cents, category_id) overriding system value values
  (-301, 'RUX-000001', 'Child product', 1000, -301),
  (-302, 'RUX-000002', 'Uncategorised product', 500, null),
  (-303, 'RUX-000003', 'Root product', 700, -300);
insert into public.orders (id, customer_id, status, subtotal_cents, shipping_cents, total_cents,
  item_count, placed_at) overriding system value values
  (-301, '00000000-0000-4000-8000-0000000003a1', 'paid', 2700, 490, 3190, 3, now()),
  (-302, '00000000-0000-4000-8000-0000000003a1', 'cancelled', 5000, 0, 5000, 5, now()),
  (-303, '00000000-0000-4000-8000-0000000003a1', 'refunded', 7000, 0, 7000, 7,
    now() - interval '2 days'),
  (-304, '00000000-0000-4000-8000-0000000003a1', 'delivered', 500, 490, 990, 1,
    now() - interval '40 days'),
  (-305, '00000000-0000-4000-8000-0000000003a1', 'paid', 1700, 0, 1700, 2,
    now() - interval '200 days');
insert into public.order_items values
  (-301, 1, -301, 2, 1000, 2000), (-301, 2, -303, 1, 700, 700),
  (-302, 1, -301, 5, 1000, 5000), (-303, 1, -301, 7, 1000, 7000), (-304, 1, -302, 1, 500, 500),
  (-305, 1, -301, 1, 1000, 1000), (-305, 2, -303, 1, 700, 700);

-- A pg_cron refresh may be running: wait for it, then every refresh here is this session's.
select pg_advisory_xact_lock(hashtext('private.refresh_sales_rollups'));

select ok(
  (select count(*) from private.sales_rollup_changes c
    where c.day in ((now() at time zone 'UTC')::date, ((now() - interval '200 days') at time zone 'UTC')::date)) >= 2,
  'inserting orders logs their days');
select ok(private.refresh_sales_rollups() >= 4, 'the refresh recomputes the logged days');
select is((select count(*) from private.sales_rollup_changes), 0::bigint,
  'and consumes the log');
select is(private.refresh_sales_rollups(), 0, 'a refresh with nothing logged recomputes no day');

select is(private.sales_dashboard_from_rollups(1) - 'as_of',
  private.sales_dashboard_compute(1) - 'as_of', 'the 1-day dashboard equals the live one');
select is(private.sales_dashboard_from_rollups(45) - 'as_of',
  private.sales_dashboard_compute(45) - 'as_of', 'the 45-day dashboard equals the live one');
select is(private.sales_dashboard_from_rollups(366) - 'as_of',
  private.sales_dashboard_compute(366) - 'as_of', 'the 366-day dashboard equals the live one');
select ok((private.sales_dashboard_from_rollups(7) ->> 'as_of')::timestamptz
    = (select refreshed_at from private.sales_rollup_state),
  '"as_of" is the time of the last refresh');

-- A status change months ago: only that day is recomputed.
update public.orders set status = 'refunded' where id = -305;
select is(private.refresh_sales_rollups(), 1, 'a status change recomputes the day of its order');
select is(private.sales_dashboard_from_rollups(366) - 'as_of',
  private.sales_dashboard_compute(366) - 'as_of', 'and the dashboard follows it');
select is(
  (select count(*) from private.sales_rollup_products r
    where r.day = ((now() - interval '200 days') at time zone 'UTC')::date and r.product_id = -303),
  0::bigint, 'a refunded order leaves the product rollup of its day');

select results_eq(
  $$select schedule, command from private.scheduled_jobs where name = 'refresh-sales-rollups'$$,
  $$values ('* * * * *'::text, 'select private.refresh_sales_rollups()'::text)$$,
  'the refresh is a job of every minute');

truncate public.orders cascade;
select is((select count(*) from private.sales_rollup_days), 0::bigint,
  'truncating the orders empties the rollups');

select * from finish();
rollback;
