-- Daily sales rollups behind the dashboard of any window of 1-366 days: per UTC day the totals, the
-- top-level categories and the products sold, kept up to date by a refresh that recomputes only the
-- days whose orders changed (a trigger on orders logs them), every minute.
--
--   sales_rollup_days       day: orders, units, revenue (paid, shipped, delivered orders)
--   sales_rollup_roots      day x top-level category (0 = uncategorised): orders touching it, units, revenue
--   sales_rollup_products   day x product: units and revenue (line totals)
--   sales_rollup_changes    days to recompute, appended by the trigger, consumed by the refresh

create table if not exists private.sales_rollup_days (
  day date not null,
  orders bigint not null,
  units bigint not null,
  revenue_cents bigint not null,
  constraint sales_rollup_days_pkey primary key (day)
);
comment on table private.sales_rollup_days is
  'Per UTC day: paid, shipped and delivered orders, their units (item_count) and revenue '
  '(subtotal), as private.sales_dashboard_compute counts them. Days without sales have no row.';

create table if not exists private.sales_rollup_roots (
  day date not null,
  root_id bigint not null,
  orders bigint not null,
  units bigint not null,
  revenue_cents bigint not null,
  constraint sales_rollup_roots_pkey primary key (day, root_id)
);
comment on table private.sales_rollup_roots is
  'Per UTC day and top-level category (root_id 0: products without a category): orders with a '
  'line in it, and the units and line totals of those lines.';

create table if not exists private.sales_rollup_products (
  day date not null,
  product_id bigint not null,
  units bigint not null,
  revenue_cents bigint not null,
  constraint sales_rollup_products_pkey primary key (day, product_id)
);
comment on table private.sales_rollup_products is
  'Per UTC day and product: units and line totals sold in paid, shipped and delivered orders.';
comment on index private.sales_rollup_products_pkey is
  'The top products of a window: a range of days, summed per product.';

create table if not exists private.sales_rollup_changes (
  id bigint generated always as identity,
  day date not null,
  constraint sales_rollup_changes_pkey primary key (id)
);
comment on table private.sales_rollup_changes is
  'Days whose orders changed since the last refresh, appended (never updated, so order writers '
  'never wait on each other here) by the trigger on public.orders.';

create table if not exists private.sales_rollup_state (
  id boolean not null default true,
  refreshed_at timestamptz,
  constraint sales_rollup_state_pkey primary key (id),
  constraint sales_rollup_state_id_check check (id)
);
comment on table private.sales_rollup_state is
  'One row: when the rollups were last brought up to date (the dashboard''s "as_of").';
insert into private.sales_rollup_state (id) values (true) on conflict (id) do nothing;

alter table private.sales_rollup_days enable row level security;
alter table private.sales_rollup_roots enable row level security;
alter table private.sales_rollup_products enable row level security;
alter table private.sales_rollup_changes enable row level security;
alter table private.sales_rollup_state enable row level security;
revoke all on table
  private.sales_rollup_days, private.sales_rollup_roots, private.sales_rollup_products,
  private.sales_rollup_changes, private.sales_rollup_state
from public, anon, authenticated;
grant select on table
  private.sales_rollup_days, private.sales_rollup_roots, private.sales_rollup_products,
  private.sales_rollup_state
to service_role;

-- Recomputing days ------------------------------------------------------------------------------

create or replace function private.rebuild_sales_rollup_days(p_days date[])
returns integer
language plpgsql
security definer
set search_path = ''
set jit = off
as $$
begin
  delete from private.sales_rollup_days where day = any (p_days);
  delete from private.sales_rollup_roots where day = any (p_days);
  delete from private.sales_rollup_products where day = any (p_days);

  insert into private.sales_rollup_days (day, orders, units, revenue_cents)
  select d.day, count(*), coalesce(sum(o.item_count), 0), coalesce(sum(o.subtotal_cents), 0)
  from pg_catalog.unnest(p_days) d(day)
  join public.orders o
    on o.placed_at >= (d.day::timestamp at time zone 'UTC')
   and o.placed_at < ((d.day + 1)::timestamp at time zone 'UTC')
  where o.status in ('paid', 'shipped', 'delivered')
  group by d.day;

  insert into private.sales_rollup_roots (day, root_id, orders, units, revenue_cents)
  with recursive tree as (
    select c.id, c.id as root_id from public.categories c where c.parent_id is null
    union all
    select c.id, t.root_id from public.categories c join tree t on c.parent_id = t.id
  ),
  order_roots as (
    select d.day, coalesce(tr.root_id, 0) as root_id, i.order_id,
      sum(i.quantity)::bigint as units, sum(i.line_total_cents)::bigint as revenue_cents
    from pg_catalog.unnest(p_days) d(day)
    join public.orders o
      on o.placed_at >= (d.day::timestamp at time zone 'UTC')
     and o.placed_at < ((d.day + 1)::timestamp at time zone 'UTC')
    join public.order_items i on i.order_id = o.id
    join public.products p on p.id = i.product_id
    left join tree tr on tr.id = p.category_id
    where o.status in ('paid', 'shipped', 'delivered')
    group by d.day, coalesce(tr.root_id, 0), i.order_id
  )
  select r.day, r.root_id, count(*), sum(r.units), sum(r.revenue_cents)
  from order_roots r
  group by r.day, r.root_id;

  insert into private.sales_rollup_products (day, product_id, units, revenue_cents)
  select d.day, i.product_id, sum(i.quantity), sum(i.line_total_cents)
  from pg_catalog.unnest(p_days) d(day)
  join public.orders o
    on o.placed_at >= (d.day::timestamp at time zone 'UTC')
   and o.placed_at < ((d.day + 1)::timestamp at time zone 'UTC')
  join public.order_items i on i.order_id = o.id
  where o.status in ('paid', 'shipped', 'delivered')
  group by d.day, i.product_id;

  return coalesce(pg_catalog.cardinality(p_days), 0);
end
$$;
comment on function private.rebuild_sales_rollup_days(date[]) is
  'Recomputes the three rollups of the given UTC days from orders and lines; returns the number '
  'of days.';

create or replace function private.refresh_sales_rollups()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_days date[];
begin
  -- One refresher at a time; a second one has nothing to add.
  if not pg_catalog.pg_try_advisory_xact_lock(
    pg_catalog.hashtext('private.refresh_sales_rollups')
  ) then
    return 0;
  end if;
  -- The logged days committed by now; a change still in flight stays logged for the next run,
  -- and the recount below reads every change committed before it starts.
  with taken as (delete from private.sales_rollup_changes returning day)
  select pg_catalog.array_agg(distinct t.day) into v_days from taken t;
  if v_days is not null then
    perform private.rebuild_sales_rollup_days(v_days);
  end if;
  update private.sales_rollup_state set refreshed_at = pg_catalog.now() where id;
  return coalesce(pg_catalog.cardinality(v_days), 0);
end
$$;
comment on function private.refresh_sales_rollups() is
  'Brings the sales rollups up to date: recomputes the days logged in sales_rollup_changes (new '
  'orders: today; status changes: the days those orders were placed), nothing else. Every minute.';

-- Logging changed days ----------------------------------------------------------------------------

create or replace function private.log_sales_rollup_changes()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'TRUNCATE' then
    truncate private.sales_rollup_days, private.sales_rollup_roots, private.sales_rollup_products,
      private.sales_rollup_changes;
    return null;
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    insert into private.sales_rollup_changes (day)
    select distinct (n.placed_at at time zone 'UTC')::date from new_rows n;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    insert into private.sales_rollup_changes (day)
    select distinct (o.placed_at at time zone 'UTC')::date from old_rows o;
  end if;
  return null;
end
$$;
comment on function private.log_sales_rollup_changes() is
  'Statement trigger on public.orders: logs the UTC days of the orders a statement inserted, '
  'updated or deleted; a TRUNCATE empties the rollups.';

do $$
begin
  if not exists (select 1 from pg_catalog.pg_trigger
                 where tgname = 'orders_log_sales_insert' and tgrelid = 'public.orders'::regclass) then
    create trigger orders_log_sales_insert after insert on public.orders
      referencing new table as new_rows
      for each statement execute function private.log_sales_rollup_changes();
  end if;
  if not exists (select 1 from pg_catalog.pg_trigger
                 where tgname = 'orders_log_sales_update' and tgrelid = 'public.orders'::regclass) then
    create trigger orders_log_sales_update after update on public.orders
      referencing old table as old_rows new table as new_rows
      for each statement execute function private.log_sales_rollup_changes();
  end if;
  if not exists (select 1 from pg_catalog.pg_trigger
                 where tgname = 'orders_log_sales_delete' and tgrelid = 'public.orders'::regclass) then
    create trigger orders_log_sales_delete after delete on public.orders
      referencing old table as old_rows
      for each statement execute function private.log_sales_rollup_changes();
  end if;
  if not exists (select 1 from pg_catalog.pg_trigger
                 where tgname = 'orders_log_sales_truncate' and tgrelid = 'public.orders'::regclass) then
    create trigger orders_log_sales_truncate after truncate on public.orders
      for each statement execute function private.log_sales_rollup_changes();
  end if;
end
$$;

create or replace function private.rebuild_sales_rollups()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
begin
  truncate private.sales_rollup_days, private.sales_rollup_roots, private.sales_rollup_products,
    private.sales_rollup_changes;
  perform private.rebuild_sales_rollup_days(
    array(select distinct (o.placed_at at time zone 'UTC')::date from public.orders o)
  );
  update private.sales_rollup_state set refreshed_at = pg_catalog.now() where id;
  return (select count(*)::integer from private.sales_rollup_days);
end
$$;
comment on function private.rebuild_sales_rollups() is
  'Rebuilds the sales rollups from every order: the first build, and after writes made with '
  'triggers off (the demo generator runs with session_replication_role = replica).';

-- The first build: every day with orders.
select private.rebuild_sales_rollups();

-- The dashboard from the rollups ------------------------------------------------------------------

create or replace function private.sales_dashboard_from_rollups(
  p_days integer,
  p_at timestamptz default now()
)
returns jsonb
language sql
stable
set search_path = ''
set jit = off
as $$
  with bounds as (
    select d.today - (p_days - 1) as from_day, d.today as to_day,
      d.today - (2 * p_days - 1) as prev_from_day
    from (select (p_at at time zone 'UTC')::date as today) d
  ),
  days as (
    select g.day::date as day, coalesce(r.revenue_cents, 0) as revenue_cents,
      coalesce(r.orders, 0) as orders, coalesce(r.units, 0) as units
    from bounds b
    cross join lateral pg_catalog.generate_series(
      b.prev_from_day::timestamp, b.to_day::timestamp, interval '1 day') g(day)
    left join private.sales_rollup_days r on r.day = g.day::date
  ),
  periods as (
    select sum(d.revenue_cents) filter (where d.day >= b.from_day)::bigint as revenue_cents,
      sum(d.orders) filter (where d.day >= b.from_day)::bigint as orders,
      sum(d.units) filter (where d.day >= b.from_day)::bigint as units,
      sum(d.revenue_cents) filter (where d.day < b.from_day)::bigint as prev_revenue_cents,
      sum(d.orders) filter (where d.day < b.from_day)::bigint as prev_orders,
      sum(d.units) filter (where d.day < b.from_day)::bigint as prev_units
    from days d, bounds b
  ),
  by_root as (
    select r.root_id, sum(r.revenue_cents)::bigint as revenue_cents,
      sum(r.orders)::bigint as orders, sum(r.units)::bigint as units
    from private.sales_rollup_roots r, bounds b
    where r.day between b.from_day and b.to_day
    group by r.root_id
  ),
  open_orders as (
    select count(*) as orders, coalesce(sum(o.total_cents), 0)::bigint as total_cents,
      min(o.placed_at) as oldest_placed_at
    from public.orders o
    where o.status in ('pending', 'paid')
  ),
  by_product as (
    select p.product_id, sum(p.units)::bigint as units, sum(p.revenue_cents)::bigint as revenue_cents
    from private.sales_rollup_products p, bounds b
    where p.day between b.from_day and b.to_day
    group by p.product_id
    order by revenue_cents desc, units desc, p.product_id
    limit 10
  )
  select pg_catalog.jsonb_build_object(
    'from', b.from_day,
    'to', b.to_day,
    'as_of', (select s.refreshed_at from private.sales_rollup_state s where s.id),
    'totals', pg_catalog.jsonb_build_object(
      'revenue_cents', pe.revenue_cents, 'orders', pe.orders, 'units', pe.units,
      'avg_basket_cents', case when pe.orders > 0 then round(pe.revenue_cents::numeric / pe.orders)::bigint else 0 end),
    'previous', pg_catalog.jsonb_build_object(
      'revenue_cents', pe.prev_revenue_cents, 'orders', pe.prev_orders, 'units', pe.prev_units,
      'avg_basket_cents', case when pe.prev_orders > 0 then round(pe.prev_revenue_cents::numeric / pe.prev_orders)::bigint else 0 end),
    'change_pct', pg_catalog.jsonb_build_object(
      'revenue_cents', private.change_pct(pe.revenue_cents, pe.prev_revenue_cents),
      'orders', private.change_pct(pe.orders, pe.prev_orders),
      'units', private.change_pct(pe.units, pe.prev_units),
      'avg_basket_cents', private.change_pct(
        case when pe.orders > 0 then round(pe.revenue_cents::numeric / pe.orders) else 0 end,
        case when pe.prev_orders > 0 then round(pe.prev_revenue_cents::numeric / pe.prev_orders) else 0 end)),
    'daily', (
      select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'day', d.day, 'revenue_cents', d.revenue_cents, 'orders', d.orders, 'units', d.units,
        'avg_basket_cents', case when d.orders > 0 then round(d.revenue_cents::numeric / d.orders)::bigint else 0 end)
        order by d.day)
      from days d where d.day >= b.from_day),
    'by_category', (
      select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'category_id', x.root_id, 'name', coalesce(c.name, 'Uncategorised'),
        'revenue_cents', x.revenue_cents, 'orders', x.orders, 'units', x.units)
        order by x.revenue_cents desc, x.root_id nulls last), '[]'::jsonb)
      from (
        select r.id as root_id, coalesce(br.revenue_cents, 0) as revenue_cents,
          coalesce(br.orders, 0) as orders, coalesce(br.units, 0) as units
        from public.categories r
        left join by_root br on br.root_id = r.id
        where r.parent_id is null
        union all
        select null, br.revenue_cents, br.orders, br.units from by_root br where br.root_id = 0
      ) x
      left join public.categories c on c.id = x.root_id),
    'top_products', (
      select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'product_id', t.product_id, 'sku', p.sku, 'name', p.name, 'units', t.units,
        'revenue_cents', t.revenue_cents)
        order by t.revenue_cents desc, t.units desc, t.product_id), '[]'::jsonb)
      from by_product t join public.products p on p.id = t.product_id),
    'open_orders', (
      select pg_catalog.jsonb_build_object('orders', oo.orders, 'total_cents', oo.total_cents,
        'oldest_placed_at', oo.oldest_placed_at)
      from open_orders oo)
  )
  from bounds b, periods pe
$$;
comment on function private.sales_dashboard_from_rollups(integer, timestamptz) is
  'The document of private.sales_dashboard_compute for the p_days UTC days up to p_at''s day, '
  'read from the daily rollups instead of the orders (as of their last refresh, "as_of").';

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
  -- A standard window comes from the view while it covers today; any other from the rollups.
  select r.document into v_document
  from private.sales_dashboard_realtime r
  where r.window_days = p_days
    and r.to_day = (now() at time zone 'UTC')::date;
  return coalesce(v_document, private.sales_dashboard_from_rollups(p_days, now()));
end
$$;
comment on function public.sales_dashboard(integer) is
  'Sales KPIs of the last p_days UTC days for admins and the service role (others: SQLSTATE '
  '42501): from sales_dashboard_realtime for the standard windows, from the daily rollups '
  '(refreshed every minute) for any other; "as_of" says how fresh. Revenue = subtotal of paid, '
  'shipped and delivered orders.';

create or replace function public.top_products(p_days integer default 30, p_limit integer default 10)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set jit = off
as $$
declare
  v_document jsonb;
  v_today date := (now() at time zone 'UTC')::date;
begin
  if not private.caller_reads_all_orders() then
    raise exception 'top products are for admins' using errcode = 'insufficient_privilege';
  end if;
  if p_days is null or p_days not between 1 and 366 or p_limit is null
     or p_limit not between 1 and 10 then
    raise exception 'p_days must be between 1 and 366 and p_limit between 1 and 10'
      using errcode = 'invalid_parameter_value';
  end if;
  select r.document -> 'top_products' into v_document
  from private.sales_dashboard_realtime r
  where r.window_days = p_days and r.to_day = v_today;
  if v_document is null then
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'product_id', t.product_id, 'sku', p.sku, 'name', p.name, 'units', t.units,
        'revenue_cents', t.revenue_cents)
        order by t.revenue_cents desc, t.units desc, t.product_id), '[]'::jsonb)
    into v_document
    from (
      select r.product_id, sum(r.units)::bigint as units, sum(r.revenue_cents)::bigint as revenue_cents
      from private.sales_rollup_products r
      where r.day between v_today - (p_days - 1) and v_today
      group by r.product_id
      order by revenue_cents desc, units desc, r.product_id
      limit p_limit
    ) t
    join public.products p on p.id = t.product_id;
  end if;
  return (
    select coalesce(pg_catalog.jsonb_agg(e.value order by e.ordinality), '[]'::jsonb)
    from pg_catalog.jsonb_array_elements(v_document) with ordinality e
    where e.ordinality <= p_limit
  );
end
$$;
comment on function public.top_products(integer, integer) is
  'The p_limit (at most 10) best-selling products of the last p_days UTC days, as the dashboard''s '
  'top_products: from sales_dashboard_realtime for a standard window that covers today, else from '
  'the daily product rollup. Admins and the service role (others: SQLSTATE 42501).';

revoke all on function
  private.rebuild_sales_rollup_days(date[]),
  private.rebuild_sales_rollups(),
  private.refresh_sales_rollups(),
  private.log_sales_rollup_changes(),
  private.sales_dashboard_from_rollups(integer, timestamptz)
from public, anon, authenticated, service_role;
grant execute on function private.refresh_sales_rollups() to service_role;
revoke all on function public.top_products(integer, integer)
from public, anon, authenticated, service_role;
grant execute on function public.top_products(integer, integer) to authenticated, service_role;

insert into private.scheduled_jobs (name, schedule, command, description) values
  ('refresh-sales-rollups', '* * * * *',
    $$select private.refresh_sales_rollups()$$,
    'Recomputes the days whose orders changed, so the dashboard of any window is at most a '
    'minute old.')
on conflict (name) do update
  set schedule = excluded.schedule, command = excluded.command,
    description = excluded.description;
