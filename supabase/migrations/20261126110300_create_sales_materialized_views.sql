-- Sales materialized views, their refresh (advisory lock, run log, staleness) and the dashboard
-- served from them.
--
--   sales_summary_daily        day x category: orders, units, revenue (whole history)
--   top_products_hourly        hour x rank: the 10 best-selling products of each hour, last 7 days
--   sales_dashboard_realtime   the sales dashboard document of each standard window (1, 7, 30 days)
--   products_stats             per product: units sold, revenue, last sale, stock
--
-- Sales count orders that are paid, shipped or delivered (private.is_revenue_status); days are UTC
-- days. Each view has the unique index REFRESH ... CONCURRENTLY needs, so readers are never blocked.

-- Views ----------------------------------------------------------------------------------------------

create materialized view if not exists private.sales_summary_daily as
select d.day, d.category_id, (count(*) filter (where d.first_of_order))::bigint as orders,
  sum(d.quantity)::bigint as units, sum(d.line_total_cents)::bigint as revenue_cents
from (
  -- An order counts once per category it touches: its first line in that category flags it.
  -- Lines arrive in order_id order, so this window needs only a small sort within each order.
  select (o.placed_at at time zone 'UTC')::date as day, coalesce(p.category_id, 0) as category_id,
    i.quantity, i.line_total_cents,
    row_number() over (partition by i.order_id, coalesce(p.category_id, 0)) = 1 as first_of_order
  from public.orders o
  join public.order_items i on i.order_id = o.id
  join public.products p on p.id = i.product_id
  where o.status in ('paid', 'shipped', 'delivered')
) d
group by d.day, d.category_id
with data;
comment on materialized view private.sales_summary_daily is
  'Sales per UTC day and product category (0 = uncategorised): orders touching the category, '
  'units and revenue (line totals) of paid, shipped and delivered orders. Days without sales '
  'have no row. Refreshed by private.refresh_materialized_view.';
create unique index if not exists sales_summary_daily_day_category_id_idx
  on private.sales_summary_daily (day, category_id);
comment on index private.sales_summary_daily_day_category_id_idx is
  'Unique key for REFRESH CONCURRENTLY; also reports over a range of days.';

create materialized view if not exists private.top_products_hourly as
select r.hour, r.rank, r.product_id, r.units, r.revenue_cents, r.orders
from (
  select h.hour, h.product_id, h.units, h.revenue_cents, h.orders,
    row_number() over (
      partition by h.hour order by h.revenue_cents desc, h.units desc, h.product_id
    )::integer as rank
  from (
    select date_trunc('hour', o.placed_at, 'UTC') as hour, i.product_id,
      sum(i.quantity)::bigint as units, sum(i.line_total_cents)::bigint as revenue_cents,
      count(distinct o.id) as orders
    from public.orders o
    join public.order_items i on i.order_id = o.id
    where o.status in ('paid', 'shipped', 'delivered')
      and o.placed_at >= date_trunc('hour', now(), 'UTC') - interval '167 hours'
      -- Implied by the join; it tells the planner that only the end of order_items is
      -- concerned (ids grow with time), so it does not hash every line of the history.
      and i.order_id >= (
        select min(o2.id) from public.orders o2
        where o2.status in ('paid', 'shipped', 'delivered')
          and o2.placed_at >= date_trunc('hour', now(), 'UTC') - interval '167 hours'
      )
    group by 1, 2
  ) h
) r
where r.rank <= 10
with data;
comment on materialized view private.top_products_hourly is
  'The 10 best-selling products (by revenue, then units, then id) of each UTC hour of the last '
  '7 days (168 hours, the current one included), from paid, shipped and delivered orders.';
create unique index if not exists top_products_hourly_hour_rank_idx
  on private.top_products_hourly (hour, rank);
comment on index private.top_products_hourly_hour_rank_idx is
  'Unique key for REFRESH CONCURRENTLY; also the top products of recent hours in rank order.';

create table if not exists private.sales_dashboard_windows (
  days integer not null,
  constraint sales_dashboard_windows_pkey primary key (days),
  constraint sales_dashboard_windows_days_check check (days between 1 and 366)
);
comment on table private.sales_dashboard_windows is
  'Windows (days) whose dashboard is precomputed in sales_dashboard_realtime; other windows are '
  'computed live by sales_dashboard().';
alter table private.sales_dashboard_windows enable row level security;
revoke all on table private.sales_dashboard_windows from public, anon, authenticated;
grant select on table private.sales_dashboard_windows to service_role;
insert into private.sales_dashboard_windows (days) values (1), (7), (30) on conflict do nothing;

create materialized view if not exists private.sales_dashboard_realtime as
-- Materialized so each document is computed once, not once per column that reads it.
with documents as materialized (
  select w.days, private.sales_dashboard_compute(w.days, now()) as document
  from private.sales_dashboard_windows w
)
select d.days as window_days, (d.document ->> 'as_of')::timestamptz as computed_at,
  (d.document ->> 'from')::date as from_day, (d.document ->> 'to')::date as to_day,
  (d.document -> 'totals' ->> 'revenue_cents')::bigint as revenue_cents,
  (d.document -> 'totals' ->> 'orders')::bigint as orders,
  (d.document -> 'totals' ->> 'units')::bigint as units,
  (d.document -> 'totals' ->> 'avg_basket_cents')::bigint as avg_basket_cents,
  (d.document -> 'open_orders' ->> 'orders')::bigint as open_orders,
  d.document
from documents d
with data;
comment on materialized view private.sales_dashboard_realtime is
  'Rolling dashboard KPIs: per standard window, the full sales_dashboard document (daily series, '
  'previous period, categories, top products, open orders) and its headline figures as columns '
  'for metrics. Refreshed every minute.';
create unique index if not exists sales_dashboard_realtime_window_days_idx
  on private.sales_dashboard_realtime (window_days);
comment on index private.sales_dashboard_realtime_window_days_idx is
  'Unique key for REFRESH CONCURRENTLY; sales_dashboard(p_days) reads its window by it.';

create materialized view if not exists private.products_stats as
select p.id as product_id, p.active, coalesce(s.units_sold, 0)::bigint as units_sold,
  coalesce(s.revenue_cents, 0)::bigint as revenue_cents, s.last_sold_at,
  coalesce(inv.on_hand, 0) as on_hand, coalesce(inv.reserved, 0) as reserved,
  coalesce(inv.on_hand - inv.reserved, 0) as available
from public.products p
left join (
  select i.product_id, sum(i.quantity) as units_sold, sum(i.line_total_cents) as revenue_cents,
    max(o.placed_at) as last_sold_at
  from public.order_items i
  join public.orders o on o.id = i.order_id
  where o.status in ('paid', 'shipped', 'delivered')
  group by i.product_id
) s on s.product_id = p.id
left join public.inventory inv on inv.product_id = p.id
with data;
comment on materialized view private.products_stats is
  'Per product (active or not): units sold, revenue and last sale over paid, shipped and '
  'delivered orders, and stock when refreshed (live stock: inventory_levels). Products without '
  'sales have zeros and a null last_sold_at.';
create unique index if not exists products_stats_product_id_idx
  on private.products_stats (product_id);
comment on index private.products_stats_product_id_idx is
  'Unique key for REFRESH CONCURRENTLY; per-product lookups.';

revoke all on table
  private.sales_summary_daily, private.top_products_hourly, private.sales_dashboard_realtime,
  private.products_stats
from public, anon, authenticated;
grant select on table
  private.sales_summary_daily, private.top_products_hourly, private.sales_dashboard_realtime,
  private.products_stats
to service_role;

-- Refresh --------------------------------------------------------------------------------------------

create table if not exists private.refreshable_views (
  view_name text not null,
  max_staleness interval not null,
  description text not null default '',
  constraint refreshable_views_pkey primary key (view_name),
  constraint refreshable_views_max_staleness_check check (max_staleness > interval '0')
);
comment on table private.refreshable_views is
  'Materialized views of schema private that refresh_materialized_view may refresh, with the age '
  'after which their data counts as stale (a few missed refreshes).';
alter table private.refreshable_views enable row level security;
revoke all on table private.refreshable_views from public, anon, authenticated;
grant select on table private.refreshable_views to service_role;

insert into private.refreshable_views (view_name, max_staleness, description) values
  ('sales_dashboard_realtime', interval '3 minutes', 'refreshed every minute'),
  ('top_products_hourly', interval '15 minutes', 'refreshed every 5 minutes'),
  ('sales_summary_daily', interval '45 minutes', 'refreshed every 15 minutes'),
  ('products_stats', interval '45 minutes', 'refreshed every 15 minutes')
on conflict (view_name) do update
  set max_staleness = excluded.max_staleness, description = excluded.description;

create table if not exists private.refresh_log (
  id bigint generated always as identity,
  view_name text not null,
  started_at timestamptz not null,
  finished_at timestamptz not null,
  duration_ms numeric(12, 3) not null,
  rows bigint,
  outcome text not null,
  error text,
  concurrent boolean,
  constraint refresh_log_pkey primary key (id),
  constraint refresh_log_outcome_check check (outcome in ('succeeded', 'skipped', 'failed'))
);
comment on table private.refresh_log is
  'One row per refresh_materialized_view call: view, start, duration, rows after the refresh, '
  'outcome (succeeded | skipped because another refresh of the view was running | failed) and '
  'the error. Trimmed by private.purge_job_history.';
alter table private.refresh_log enable row level security;
revoke all on table private.refresh_log from public, anon, authenticated;
grant select on table private.refresh_log to service_role;

create index if not exists refresh_log_view_name_started_at_idx
  on private.refresh_log (view_name, started_at desc);
comment on index private.refresh_log_view_name_started_at_idx is
  'materialized_view_staleness: the last run and last success of each view.';
create index if not exists refresh_log_started_at_idx on private.refresh_log (started_at);
comment on index private.refresh_log_started_at_idx is
  'purge_job_history: deletes runs older than the retention.';

create or replace function private.refresh_materialized_view(p_view text)
returns private.refresh_log
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_log private.refresh_log;
  v_started timestamptz := clock_timestamp();
  v_populated boolean;
  v_rows bigint;
  v_outcome text;
  v_error text;
  v_work_mem constant text := pg_catalog.current_setting('work_mem');
  v_jit constant text := pg_catalog.current_setting('jit');
begin
  if not exists (select 1 from private.refreshable_views r where r.view_name = p_view) then
    raise exception 'private.% is not a refreshable materialized view', p_view
      using errcode = 'invalid_parameter_value';
  end if;

  -- One refresh per view at a time: a second caller (cron catching up, a manual run) skips
  -- instead of queueing behind the first and refreshing the same data again. The lock is
  -- transaction-scoped, so it cannot outlive a crashed caller.
  if not pg_catalog.pg_try_advisory_xact_lock(
    pg_catalog.hashtext('private.refresh_materialized_view'), pg_catalog.hashtext(p_view)
  ) then
    v_outcome := 'skipped';
  else
    select m.ispopulated into v_populated
    from pg_catalog.pg_matviews m
    where m.schemaname = 'private' and m.matviewname = p_view;
    begin
      -- Aggregating a whole history sorts and hashes more than the default work_mem holds.
      perform pg_catalog.set_config('work_mem', '128MB', true);
      -- These plans run for seconds over millions of rows whatever JIT does; compiling them
      -- costs more than it saves.
      perform pg_catalog.set_config('jit', 'off', true);
      -- CONCURRENTLY keeps readers unblocked; it needs a populated view, so the first refresh of
      -- a view created WITH NO DATA is a plain one.
      execute format(
        'refresh materialized view %s private.%I',
        case when v_populated then 'concurrently' else '' end,
        p_view
      );
      perform pg_catalog.set_config('work_mem', v_work_mem, true);
      perform pg_catalog.set_config('jit', v_jit, true);
      execute format('select count(*) from private.%I', p_view) into v_rows;
      v_outcome := 'succeeded';
    exception
      when others then
        v_outcome := 'failed';
        v_error := sqlstate || ': ' || sqlerrm;
    end;
  end if;

  insert into private.refresh_log (
    view_name, started_at, finished_at, duration_ms, rows, outcome, error, concurrent
  )
  values (
    p_view, v_started, clock_timestamp(),
    round((extract(epoch from clock_timestamp() - v_started) * 1000)::numeric, 3),
    v_rows, v_outcome, v_error, case when v_outcome = 'skipped' then null else v_populated end
  )
  returning * into v_log;
  -- The failure is logged and reported as a warning rather than raised: raising would roll the
  -- log row back with the refresh.
  if v_outcome = 'failed' then
    raise warning 'refresh of private.% failed: %', p_view, v_error;
  end if;
  return v_log;
end
$$;
comment on function private.refresh_materialized_view(text) is
  'Refreshes one view of private.refreshable_views (CONCURRENTLY once populated) under a '
  'per-view advisory lock, skipping when another refresh of it runs; logs every call in '
  'private.refresh_log and returns the log row.';

create or replace view private.materialized_view_staleness
with (security_invoker = true)
as
select v.view_name, m.ispopulated as populated, ok.started_at as refreshed_at,
  -- clock_timestamp(): the age when read, also inside a long transaction.
  extract(epoch from clock_timestamp() - ok.started_at)::numeric(14, 3) as staleness_seconds,
  v.max_staleness,
  (ok.started_at is null or clock_timestamp() - ok.started_at > v.max_staleness) as stale,
  ok.duration_ms as last_duration_ms, ok.rows,
  last.outcome as last_outcome, last.started_at as last_run_at, last.error as last_error,
  (select count(*) from private.refresh_log f
    where f.view_name = v.view_name and f.outcome = 'failed'
      and f.started_at > now() - interval '1 hour') as failures_last_hour
from private.refreshable_views v
left join pg_catalog.pg_matviews m on m.schemaname = 'private' and m.matviewname = v.view_name
left join lateral (
  select l.started_at, l.duration_ms, l.rows from private.refresh_log l
  where l.view_name = v.view_name and l.outcome = 'succeeded'
  order by l.started_at desc limit 1
) ok on true
left join lateral (
  select l.outcome, l.started_at, l.error from private.refresh_log l
  where l.view_name = v.view_name
  order by l.started_at desc limit 1
) last on true;
comment on view private.materialized_view_staleness is
  'Per refreshable view: when its data was last refreshed (start of the last successful '
  'refresh), how old that is, whether it is past max_staleness, and the last run''s outcome. '
  'Read by the metrics function.';
revoke all on table private.materialized_view_staleness from public, anon, authenticated;
grant select on table private.materialized_view_staleness to service_role;

-- The dashboard, now served from the view ---------------------------------------------------------

create or replace function public.sales_dashboard(p_days integer default 30)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_document jsonb;
begin
  if not private.caller_reads_all_orders() then
    raise exception 'the sales dashboard is for admins' using errcode = 'insufficient_privilege';
  end if;
  if p_days is null or p_days not between 1 and 366 then
    raise exception 'p_days must be between 1 and 366' using errcode = 'invalid_parameter_value';
  end if;
  -- A standard window comes from the view while it covers today; after midnight, before the next
  -- refresh, or for another window, the document is computed live.
  select r.document into v_document
  from private.sales_dashboard_realtime r
  where r.window_days = p_days
    and r.to_day = (now() at time zone 'UTC')::date;
  return coalesce(v_document, private.sales_dashboard_compute(p_days, now()));
end
$$;
comment on function public.sales_dashboard(integer) is
  'Sales KPIs of the last p_days UTC days for admins and the service role (others: SQLSTATE '
  '42501): from sales_dashboard_realtime for the standard windows (as fresh as its last refresh, '
  'see "as_of"), computed live otherwise. Revenue = subtotal of paid, shipped and delivered orders.';

revoke all on function
  private.refresh_materialized_view(text),
  public.sales_dashboard(integer)
from public, anon, authenticated, service_role;
grant execute on function private.refresh_materialized_view(text) to service_role;
grant execute on function public.sales_dashboard(integer) to authenticated, service_role;
grant usage on schema private to service_role;
