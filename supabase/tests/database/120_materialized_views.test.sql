-- Sales materialized views: shape, refresh under the advisory lock (skipped overlap, logged
-- failures), readers never blocked by a concurrent refresh, each view equal to its aggregate
-- computed here independently (with empty days, cancelled and refunded orders, uncategorised and
-- unsold products), staleness, and the dashboard served from them.
--
-- The overlap and blocking checks need a second session: dblink to this same database, with the
-- password pg_prove's psql got in PGPASSWORD (the test runner sets it).
\set pgpassword ''
\getenv pgpassword PGPASSWORD
begin;
create extension if not exists pgtap with schema extensions;
create extension if not exists dblink with schema extensions;
set local search_path = public, extensions;

select plan(50);

select dblink_connect('other', format('host=%s port=%s dbname=%s user=%s password=%s',
  coalesce(host(inet_server_addr()), 'localhost'), current_setting('port'), current_database(),
  current_user, :'pgpassword'));

-- Shape ----------------------------------------------------------------------------------------------

select is(
  array(select m.matviewname::text from pg_catalog.pg_matviews m
    where m.schemaname = 'private' order by 1),
  array['products_stats', 'sales_dashboard_realtime', 'sales_summary_daily', 'top_products_hourly'],
  'the four materialized views exist in the private schema');
select ok(
  (select bool_and(exists (
      select 1 from pg_catalog.pg_index i
      where i.indrelid = format('private.%I', m.matviewname)::regclass
        and i.indisunique and i.indpred is null and i.indexprs is null))
    from pg_catalog.pg_matviews m where m.schemaname = 'private'),
  'each view has a unique index on plain columns without predicate (what CONCURRENTLY needs)');
select is(
  array(select r.view_name from private.refreshable_views r order by 1),
  array['products_stats', 'sales_dashboard_realtime', 'sales_summary_daily', 'top_products_hourly'],
  'all four are registered for refresh');
select ok(private.is_revenue_status('paid') and private.is_revenue_status('shipped')
    and private.is_revenue_status('delivered') and not private.is_revenue_status('pending')
    and not private.is_revenue_status('cancelled') and not private.is_revenue_status('refunded'),
  'sales are paid, shipped and delivered orders');

-- Overlap and readers, with a refresh running in another session -------------------------------------

create temporary table stats_before as select count(*) as n from private.products_stats;
select is(
  (select outcome from dblink('other', 'begin; select outcome from '
    || 'private.refresh_materialized_view(''products_stats'')') as t(outcome text)),
  'succeeded', 'another session refreshes products_stats and keeps its transaction open');
select ok(exists (
    select 1 from pg_catalog.pg_locks l
    where l.relation = 'private.products_stats'::regclass and l.mode = 'ExclusiveLock'
      and l.granted and l.pid <> pg_backend_pid()),
  'the concurrent refresh holds an ExclusiveLock on the view (readers stay allowed)');
create temporary table overlap as
  select * from private.refresh_materialized_view('products_stats');
select is((select outcome from overlap), 'skipped', 'an overlapping refresh of the view is skipped');
select results_eq(
  $$select view_name, outcome, rows, error from private.refresh_log where id = (select id from overlap)$$,
  $$values ('products_stats', 'skipped', null::bigint, null::text)$$,
  'and logged as skipped');
set local lock_timeout = '500ms';
select lives_ok('select count(*) from private.products_stats',
  'reading the view while it is refreshed concurrently does not wait');
select is((select count(*) from private.products_stats), (select n from stats_before),
  'and returns the contents from before the refresh');
reset lock_timeout;
select is(dblink_exec('other', 'rollback'), 'ROLLBACK', 'the other session ends its refresh');
select is(dblink_exec('other', 'begin; refresh materialized view private.top_products_hourly'),
  'REFRESH MATERIALIZED VIEW', 'the other session runs a plain (not concurrent) refresh');
set local lock_timeout = '200ms';
select throws_ok('select count(*) from private.top_products_hourly', '55P03', null,
  'a plain refresh would block readers: the test can tell');
reset lock_timeout;
select is(dblink_exec('other', 'rollback'), 'ROLLBACK', 'the other session rolls back');
select dblink_disconnect('other');

-- Edge cases ---------------------------------------------------------------------------------------

insert into auth.users (id, aud, role, email, raw_app_meta_data, created_at, updated_at) values
  ('00000000-0000-4000-8000-0000000002a1', 'authenticated', 'authenticated', 'mv-a@example.test',
    '{"provider": "email"}', now(), now()),
  ('00000000-0000-4000-8000-0000000002ad', 'authenticated', 'authenticated',
    'mv-admin@example.test', '{"provider": "email", "role": "admin"}', now(), now());
insert into public.customers (id, email) values
  ('00000000-0000-4000-8000-0000000002a1', 'mv-a@example.test');
insert into public.categories (id, name, slug) overriding system value
values (-200, 'MV root', 'mv-root');
insert into public.products (id, sku, name, price_cents, category_id) overriding system value values
  (-201, 'MVX-000001', 'Sold product', 1000, -200),
  (-202, 'MVX-000002', 'Uncategorised product', 500, null),
  (-203, 'MVX-000003', 'Never sold', 700, -200);
insert into public.inventory (product_id, on_hand, reserved) values (-201, 9, 2), (-203, 4, 0);
insert into public.orders (id, customer_id, status, subtotal_cents, shipping_cents, total_cents,
  item_count, placed_at) overriding system value values
  (-201, '00000000-0000-4000-8000-0000000002a1', 'paid', 2500, 490, 2990, 3, now()),
  (-202, '00000000-0000-4000-8000-0000000002a1', 'cancelled', 5000, 0, 5000, 5, now()),
  (-203, '00000000-0000-4000-8000-0000000002a1', 'refunded', 7000, 0, 7000, 7,
    now() - interval '2 days'),
  (-204, '00000000-0000-4000-8000-0000000002a1', 'delivered', 500, 490, 990, 1,
    now() - interval '3 days'),
  (-205, '00000000-0000-4000-8000-0000000002a1', 'pending', 1000, 490, 1490, 1, now());
insert into public.order_items values
  (-201, 1, -201, 2, 1000, 2000), (-201, 2, -202, 1, 500, 500),
  (-202, 1, -201, 5, 1000, 5000), (-203, 1, -201, 7, 1000, 7000), (-204, 1, -202, 1, 500, 500),
  (-205, 1, -201, 1, 1000, 1000);
-- A day without any order, ten days ago.
delete from public.orders
where (placed_at at time zone 'UTC')::date = (now() at time zone 'UTC')::date - 10;

-- Refresh all four here. The blocking lock first: a pg_cron refresh of the same view may be
-- running, and this call must not be skipped because of it.
select pg_advisory_xact_lock(hashtext('private.refresh_materialized_view'), hashtext(v))
from unnest(array['sales_summary_daily', 'top_products_hourly', 'sales_dashboard_realtime',
  'products_stats']) v;
create temporary table refreshed as
select r.* from unnest(array['sales_summary_daily', 'top_products_hourly',
  'sales_dashboard_realtime', 'products_stats']) v
cross join lateral private.refresh_materialized_view(v) r;
select is(
  (select array_agg(outcome || ':' || coalesce(concurrent::text, '-') order by view_name) from refreshed),
  array['succeeded:true', 'succeeded:true', 'succeeded:true', 'succeeded:true'],
  'each view refreshes concurrently');
select ok(
  (select bool_and(r.rows = (select count(*) from private.sales_summary_daily))
    from refreshed r where r.view_name = 'sales_summary_daily')
  and (select bool_and(r.duration_ms >= 0 and r.finished_at >= r.started_at) from refreshed r),
  'each run is logged with its duration and the rows of the view');

-- sales_summary_daily, from an independent formulation.
select set_eq(
  'select day, category_id, orders, units, revenue_cents from private.sales_summary_daily',
  $$select (o.placed_at at time zone 'UTC')::date as day, coalesce(p.category_id, 0) as category_id,
      count(distinct o.id) as orders, sum(i.quantity)::bigint as units,
      sum(i.line_total_cents)::bigint as revenue_cents
    from public.orders o
    join public.order_items i on i.order_id = o.id
    join public.products p on p.id = i.product_id
    where o.status not in ('pending', 'cancelled', 'refunded')
    group by 1, 2$$,
  'sales_summary_daily equals the live aggregate per day and category');
select results_eq(
  $$select category_id, orders, units, revenue_cents from private.sales_summary_daily
    where day = (now() at time zone 'UTC')::date and category_id in (-200, 0) order by category_id$$,
  $$values (-200::bigint, 1::bigint, 2::bigint, 2000::bigint), (0, 1, 1, 500)$$,
  'today: the paid order counts, cancelled and pending do not; uncategorised sales are category 0');
select is(
  (select count(*)::int from private.sales_summary_daily
    where day = (now() at time zone 'UTC')::date - 10), 0,
  'a day without sales has no row');
select is(
  (select coalesce(sum(units), 0)::int from private.sales_summary_daily
    where day = (now() at time zone 'UTC')::date - 2 and category_id = -200), 0,
  'a refunded order is not a sale');

-- top_products_hourly.
select set_eq(
  'select hour, rank, product_id, units, revenue_cents, orders from private.top_products_hourly',
  $$select h.hour, h.rank::int, h.product_id, h.units, h.revenue_cents, h.orders from (
      select x.*, rank() over (partition by x.hour
        order by x.revenue_cents desc, x.units desc, x.product_id) as rank
      from (
        select date_trunc('hour', o.placed_at at time zone 'UTC') at time zone 'UTC' as hour,
          i.product_id, sum(i.quantity)::bigint as units,
          sum(i.line_total_cents)::bigint as revenue_cents, count(distinct o.id) as orders
        from public.orders o join public.order_items i on i.order_id = o.id
        where o.status not in ('pending', 'cancelled', 'refunded')
          and o.placed_at >= date_trunc('hour', now() at time zone 'UTC') at time zone 'UTC'
            - interval '7 days' + interval '1 hour'
        group by 1, 2
      ) x
    ) h where h.rank <= 10$$,
  'top_products_hourly equals the 10 best sellers of each of the last 168 hours');
select ok(exists (select 1 from private.top_products_hourly
    where hour = date_trunc('hour', now(), 'UTC') and product_id = -201 and units = 2),
  'the current hour counts the paid order only');

-- products_stats.
select set_eq(
  'select product_id, active, units_sold, revenue_cents, last_sold_at, on_hand, reserved, available from private.products_stats',
  $$select p.id as product_id, p.active,
      coalesce((select sum(i.quantity) from public.order_items i join public.orders o on o.id = i.order_id
        where i.product_id = p.id and o.status not in ('pending', 'cancelled', 'refunded')), 0)::bigint
        as units_sold,
      coalesce((select sum(i.line_total_cents) from public.order_items i join public.orders o on o.id = i.order_id
        where i.product_id = p.id and o.status not in ('pending', 'cancelled', 'refunded')), 0)::bigint
        as revenue_cents,
      (select max(o.placed_at) from public.order_items i join public.orders o on o.id = i.order_id
        where i.product_id = p.id and o.status not in ('pending', 'cancelled', 'refunded'))
        as last_sold_at,
      coalesce((select v.on_hand from public.inventory v where v.product_id = p.id), 0) as on_hand,
      coalesce((select v.reserved from public.inventory v where v.product_id = p.id), 0) as reserved,
      coalesce((select v.on_hand - v.reserved from public.inventory v where v.product_id = p.id), 0)
        as available
    from public.products p$$,
  'products_stats equals the live per-product aggregate');
select results_eq(
  $$select product_id, units_sold, revenue_cents, last_sold_at, available from private.products_stats
    where product_id in (-203, -201) order by product_id$$,
  $$values (-203::bigint, 0::bigint, 0::bigint, null::timestamptz, 4), (-201, 2, 2000, now(), 7)$$,
  'a product without sales has zeros and no last sale; stock is on hand minus reserved');

-- sales_dashboard_realtime.
select is(
  array(select window_days from private.sales_dashboard_realtime order by 1), array[1, 7, 30],
  'one dashboard document per standard window');
select ok(
  (select bool_and(d.document = private.sales_dashboard_compute(d.window_days, d.computed_at)
      and d.revenue_cents = (d.document -> 'totals' ->> 'revenue_cents')::bigint
      and d.computed_at = now())
    from private.sales_dashboard_realtime d),
  'each document equals the live computation at its refresh time');

create temporary table doc as
  select document as d from private.sales_dashboard_realtime where window_days = 30;
create temporary view revenue_orders as
  select o.* from public.orders o where o.status not in ('pending', 'cancelled', 'refunded');
select is(
  (select (d ->> 'from')::date from doc), (now() at time zone 'UTC')::date - 29,
  'the 30-day window starts 29 days before today (UTC)');
select is((select jsonb_array_length(d -> 'daily') from doc), 30, 'one daily entry per day');
select results_eq(
  $$select (d -> 'totals' ->> 'revenue_cents')::bigint, (d -> 'totals' ->> 'orders')::bigint,
      (d -> 'totals' ->> 'units')::bigint from doc$$,
  $$select sum(o.subtotal_cents)::bigint, count(*), sum(o.item_count)::bigint from revenue_orders o
    where o.placed_at >= ((now() at time zone 'UTC')::date - 29)::timestamp at time zone 'UTC'$$,
  'totals: revenue (subtotals), orders and units of the paid, shipped and delivered orders');
select results_eq(
  $$select (d -> 'previous' ->> 'revenue_cents')::bigint, (d -> 'previous' ->> 'orders')::bigint from doc$$,
  $$select coalesce(sum(o.subtotal_cents), 0)::bigint, count(*) from revenue_orders o
    where o.placed_at >= ((now() at time zone 'UTC')::date - 59)::timestamp at time zone 'UTC'
      and o.placed_at < ((now() at time zone 'UTC')::date - 29)::timestamp at time zone 'UTC'$$,
  'previous: the 30 days before');
select is(
  (select d -> 'change_pct' -> 'revenue_cents' from doc),
  (select case when (d -> 'previous' ->> 'revenue_cents')::numeric = 0 then 'null'::jsonb
    else to_jsonb(round(((d -> 'totals' ->> 'revenue_cents')::numeric
      - (d -> 'previous' ->> 'revenue_cents')::numeric) * 100
      / (d -> 'previous' ->> 'revenue_cents')::numeric, 1)) end from doc),
  'change_pct is the change in percent, one decimal');
select is(
  (select e from doc, jsonb_array_elements(d -> 'daily') e
    where (e ->> 'day')::date = (now() at time zone 'UTC')::date - 10),
  jsonb_build_object('day', (now() at time zone 'UTC')::date - 10, 'revenue_cents', 0,
    'orders', 0, 'units', 0, 'avg_basket_cents', 0),
  'a day without sales appears with zeros');
select is(
  (select sum((e ->> 'revenue_cents')::bigint)::bigint
    from doc, jsonb_array_elements(d -> 'by_category') e),
  (select (d -> 'totals' ->> 'revenue_cents')::bigint from doc),
  'category revenues add up to the total');
select is(
  (select e ->> 'name' from doc, jsonb_array_elements(d -> 'by_category') e
    where e -> 'category_id' = 'null'),
  'Uncategorised', 'sales of uncategorised products are listed');
select is(
  (select jsonb_agg(e -> 'product_id') from doc, jsonb_array_elements(d -> 'top_products') e),
  (select jsonb_agg(t.product_id order by t.revenue desc, t.units desc, t.product_id) from (
    select i.product_id, sum(i.line_total_cents) as revenue, sum(i.quantity) as units
    from revenue_orders o join public.order_items i on i.order_id = o.id
    where o.placed_at >= ((now() at time zone 'UTC')::date - 29)::timestamp at time zone 'UTC'
    group by i.product_id order by 2 desc, 3 desc, 1 limit 10) t),
  'top products: the 10 best revenues of the window');
select is((select (d -> 'open_orders' ->> 'orders')::bigint from doc),
  (select count(*) from public.orders where status in ('pending', 'paid')),
  'open orders: pending and paid');

-- sales_dashboard: who may call it, and where its answer comes from. The daily rollups take the
-- orders above in (the lock first: a pg_cron refresh may be running).
select pg_advisory_xact_lock(hashtext('private.refresh_sales_rollups'));
create temporary table rollups_refreshed as select private.refresh_sales_rollups() as days;
create temporary table expected as
  select (select d from doc) as d30,
    private.sales_dashboard_compute(14, now()) as d14,
    (select document from private.sales_dashboard_realtime where window_days = 7) as d7;
grant select on expected to authenticated, service_role;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000002ad", "role": "authenticated",'
  || ' "app_metadata": {"role": "admin"}}', true);
set local role authenticated;
select is(public.sales_dashboard(30), (select d30 from expected),
  'an admin gets the 30-day document from the view');
select is(public.sales_dashboard(), (select d30 from expected), '30 days is the default');
select is(public.sales_dashboard(14) - 'as_of', (select d14 from expected) - 'as_of',
  'another window comes from the daily rollups, equal to the live computation');
select throws_ok('select public.sales_dashboard(0)', '22023', null, 'a window needs a day');
select throws_ok('select public.sales_dashboard(367)', '22023', null, 'at most 366 days');
reset role;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000002a1", "role": "authenticated"}', true);
set local role authenticated;
select throws_ok('select public.sales_dashboard(30)', '42501', null, 'a customer is refused');
reset role;
select set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;
select throws_ok('select public.sales_dashboard(30)', '42501', null, 'anon is refused');
reset role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
select is(public.sales_dashboard(7), (select d7 from expected),
  'the service role gets the dashboard');
reset role;

-- Staleness and failures --------------------------------------------------------------------------

select is(
  (select array_agg(view_name || ':' || stale::text order by view_name)
    from private.materialized_view_staleness),
  array['products_stats:false', 'sales_dashboard_realtime:false', 'sales_summary_daily:false',
    'top_products_hourly:false'],
  'just refreshed: no view is stale');
update private.refreshable_views set max_staleness = interval '1 microsecond'
where view_name = 'products_stats';
select pg_sleep(0.01);
select is((select stale from private.materialized_view_staleness where view_name = 'products_stats'),
  true, 'past max_staleness a view is stale');
select ok((select staleness_seconds > 0 and refreshed_at >= now() and last_outcome = 'succeeded'
    from private.materialized_view_staleness where view_name = 'products_stats'),
  'staleness is counted from the start of the last successful refresh');

insert into private.refreshable_views (view_name, max_staleness) values ('missing_view', '1 hour');
set local client_min_messages = error;
create temporary table failed as select * from private.refresh_materialized_view('missing_view');
reset client_min_messages;
select results_eq('select outcome, left(error, 5) from failed', $$values ('failed', '42P01')$$,
  'a failing refresh is logged as failed with its SQLSTATE');
select is((select last_outcome from private.materialized_view_staleness where view_name = 'missing_view'),
  'failed', 'and shows in the staleness view');
select throws_ok($$select private.refresh_materialized_view('orders')$$, '22023', null,
  'only registered views can be refreshed');

select * from finish();
rollback;
