-- The shop's five hot read operations as SQL functions, in their plain form over the base schema.
--
--   search_products    product search and category pages (full-text, filters, keyset pages)
--   list_categories    categories with live counts and price ranges of their active products
--   sales_dashboard    revenue KPIs of the last N days (admins and the service role)
--   order_details      one order with its lines, products and customer (RLS applies)
--   inventory_levels   live stock of a page of products or SKUs
--
-- Later migrations add the indexes these queries need and switch list_categories and
-- sales_dashboard to trigger-maintained and materialized data without changing any signature or
-- result; the database benchmark runs this file's versions against the base schema as its baseline.

-- Helpers --------------------------------------------------------------------------------------------

create or replace function private.search_tsquery(p_query text)
returns tsquery
language sql
immutable
parallel safe
set search_path = ''
as $$
  -- The query is split into words exactly like products.search_vector (config simple) and every
  -- word must match (AND). The last word, the one being typed, matches as a prefix when it has 3
  -- characters or more: "oak lam" finds "Oak Lamp", "KET-0000" finds SKU KET-000005. Only the
  -- last: each prefix makes the text-search index gather every word it begins, where whole words
  -- are intersected cheaply. At most 16 words are used.
  select pg_catalog.string_agg(
           '''' || replace(replace(w.lexeme, '\', '\\'), '''', '''''') || ''''
             || case when w.last and pg_catalog.char_length(w.lexeme) >= 3 then ':*' else '' end,
           ' & ' order by w.lexeme
         )::tsquery
  from (
    select t.lexeme,
      t.positions[pg_catalog.array_upper(t.positions, 1)]
        = max(t.positions[pg_catalog.array_upper(t.positions, 1)]) over () as last
    from pg_catalog.unnest(pg_catalog.to_tsvector('simple'::regconfig, coalesce(p_query, ''))) t
    order by t.positions[1]
    limit 16
  ) w
$$;
comment on function private.search_tsquery(text) is
  'Text search query of a user''s search text: its words (config simple) AND-ed, the last one as '
  'a prefix when 3+ characters long, at most 16; null when the text has no word.';

create or replace function private.is_revenue_status(p_status public.order_status)
returns boolean
language sql
immutable
parallel safe
set search_path = ''
as $$
  select p_status in ('paid', 'shipped', 'delivered')
$$;
comment on function private.is_revenue_status(public.order_status) is
  'Statuses whose orders count as sales: paid, shipped, delivered (not pending, cancelled, '
  'refunded). The dashboard, the sales views and orders_placed_at_revenue_idx spell the same list '
  'out, because a partial index serves a query only when the query repeats its predicate.';

create or replace function private.caller_reads_all_orders()
returns boolean
language plpgsql
stable
set search_path = ''
as $$
begin
  if private.is_admin() then
    return true;
  end if;
  -- Inside a security definer function current_user is the owner; the caller is the role set with
  -- SET ROLE (PostgREST, asCaller) or, without one, the session user (pg_cron, scripts).
  return exists (
    select 1 from pg_catalog.pg_roles r
    where r.rolname = coalesce(nullif(pg_catalog.current_setting('role'), 'none'), session_user)
      and (r.rolsuper or r.rolbypassrls)
  );
end
$$;
comment on function private.caller_reads_all_orders() is
  'True for admins (JWT app_metadata.role = admin) and for roles that bypass RLS (service_role, '
  'the owner): the callers allowed to see shop-wide sales figures.';

create or replace function private.change_pct(p_current numeric, p_previous numeric)
returns numeric
language sql
immutable
parallel safe
set search_path = ''
as $$
  select case when p_previous = 0 then null
    else round((p_current - p_previous) * 100 / p_previous, 1) end
$$;
comment on function private.change_pct(numeric, numeric) is
  'Change from p_previous to p_current in percent, one decimal; null when p_previous is 0.';

-- 1. Product search ----------------------------------------------------------------------------------

create or replace function public.search_products(
  p_query text default null,
  p_category_id bigint default null,
  p_min_price_cents bigint default null,
  p_max_price_cents bigint default null,
  p_in_stock boolean default null,
  p_sort text default 'relevance',
  p_limit integer default 20,
  p_after jsonb default null
)
returns table (
  id bigint,
  sku text,
  name text,
  price_cents bigint,
  currency char(3),
  category_id bigint,
  available integer,
  rank real,
  cursor jsonb
)
language plpgsql
stable
-- A search takes milliseconds: starting parallel workers would cost more than they save.
set max_parallel_workers_per_gather = 0
-- Security definer because products' RLS policy would keep the non-leakproof @@ operator from
-- using the text-search index (it must run after the policy's filter); the function returns
-- active products only, exactly what the policy shows to everyone, so no row is exposed.
security definer
set search_path = ''
as $$
declare
  v_query tsquery := private.search_tsquery(p_query);
  v_sort text := coalesce(p_sort, 'relevance');
  v_categories bigint[];
  v_where text := 'p.active';
  v_rank text := '0::real';
  v_page_rank text := 's.rank';
  v_key text;
  v_source text;
  v_stock text := '';
  v_stock_join text := '';
  v_order text;
  v_keyset text := 'true';
  v_cursor text;
  v_a1 text;
  v_a2 text;
  v_id bigint;
begin
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception 'p_limit must be between 1 and 100' using errcode = 'invalid_parameter_value';
  end if;
  if v_sort not in ('relevance', 'price', '-price', 'name', '-name', 'newest') then
    raise exception 'p_sort must be one of relevance, price, -price, name, -name, newest'
      using errcode = 'invalid_parameter_value';
  end if;
  -- Without words there is nothing to rank: relevance means newest first.
  if v_sort = 'relevance' and v_query is null then
    v_sort := 'newest';
  end if;

  if v_query is not null then
    v_where := v_where || ' and p.search_vector operator(pg_catalog.@@) $1';
    -- Relevance ranks every match; other sorts rank only the rows of the page.
    if v_sort = 'relevance' then
      v_rank := 'pg_catalog.ts_rank(p.search_vector, $1)';
    else
      v_page_rank := 'pg_catalog.ts_rank(p.search_vector, $1)';
    end if;
  end if;
  if p_category_id is not null then
    -- The category and its descendants; the walk goes down from the category, so a cycle in
    -- parent_id (which no constraint forbids) cannot make it loop.
    with recursive subtree as (
      select c.id from public.categories c where c.id = p_category_id
      union
      select c.id from public.categories c join subtree s on c.parent_id = s.id
    )
    select pg_catalog.array_agg(s.id) into v_categories from subtree s;
    -- A leaf category (most of them) compares with = so the index on (category_id, sort key)
    -- returns the page in order; = any() would need a sort of the whole category.
    v_where := v_where || case when pg_catalog.cardinality(v_categories) = 1
      then ' and p.category_id = ($2)[1]' else ' and p.category_id = any ($2)' end;
  end if;
  if p_min_price_cents is not null then
    v_where := v_where || ' and p.price_cents >= $3';
  end if;
  if p_max_price_cents is not null then
    v_where := v_where || ' and p.price_cents <= $4';
  end if;
  -- The stock test is a primary key probe per row, made only for rows that reach it in page
  -- order (see below), where a semi-join would hash the whole inventory first. In stock: a
  -- lateral probe with LIMIT 1, which the planner counts as keeping every row, so it still reads
  -- the page in index order and stops after it (as a filter it would be guessed to drop half the
  -- rows and the planner would sort the whole category instead). Out of stock (few rows
  -- qualify): a filter.
  if p_in_stock then
    v_stock_join := ' cross join lateral (select 1 from public.inventory i'
      || ' where i.product_id = s.id and i.on_hand > i.reserved limit 1) stock';
  elsif not p_in_stock then
    v_stock := ' and not coalesce((select i.on_hand > i.reserved from public.inventory i'
      || ' where i.product_id = s.id), false)';
  end if;

  -- Each sort has a unique key (it ends with id) and a cursor holding that key, so pages never
  -- skip or repeat a row while the catalog stays unchanged.
  case v_sort
    when 'relevance' then
      v_key := 'rank';
      v_order := 's.rank desc, s.id';
      v_cursor := 'jsonb_build_object(''rank'', s.rank, ''id'', s.id)';
      if p_after is not null then
        v_keyset := '(s.rank < $5::real or (s.rank = $5::real and s.id > $7))';
        v_a1 := p_after ->> 'rank';
      end if;
    when 'price' then
      v_key := 'price_cents';
      v_order := 's.price_cents, s.id';
      v_cursor := 'jsonb_build_object(''price_cents'', s.price_cents, ''id'', s.id)';
      if p_after is not null then
        v_keyset := '(s.price_cents, s.id) > ($5::bigint, $7)';
        v_a1 := p_after ->> 'price_cents';
      end if;
    when '-price' then
      v_key := 'price_cents';
      v_order := 's.price_cents desc, s.id desc';
      v_cursor := 'jsonb_build_object(''price_cents'', s.price_cents, ''id'', s.id)';
      if p_after is not null then
        v_keyset := '(s.price_cents, s.id) < ($5::bigint, $7)';
        v_a1 := p_after ->> 'price_cents';
      end if;
    when 'name' then
      v_key := 'name';
      v_order := 's.name, s.id';
      v_cursor := 'jsonb_build_object(''name'', s.name, ''id'', s.id)';
      if p_after is not null then
        v_keyset := '(s.name, s.id) > ($6, $7)';
        v_a2 := p_after ->> 'name';
      end if;
    when '-name' then
      v_key := 'name';
      v_order := 's.name desc, s.id desc';
      v_cursor := 'jsonb_build_object(''name'', s.name, ''id'', s.id)';
      if p_after is not null then
        v_keyset := '(s.name, s.id) < ($6, $7)';
        v_a2 := p_after ->> 'name';
      end if;
    else -- newest
      v_key := 'created_at';
      v_order := 's.created_at desc, s.id desc';
      v_cursor := 'jsonb_build_object(''created_at'', s.created_at, ''id'', s.id)';
      if p_after is not null then
        v_keyset := '(s.created_at, s.id) < ($5::timestamptz, $7)';
        v_a1 := p_after ->> 'created_at';
      end if;
  end case;
  if p_after is not null then
    -- A cursor is client input: check that its values parse before they reach the query.
    begin
      v_id := (p_after ->> 'id')::bigint;
      if v_sort = 'relevance' then
        perform v_a1::real;
      elsif v_sort in ('price', '-price') then
        perform v_a1::bigint;
      elsif v_sort = 'newest' then
        perform v_a1::timestamptz;
      end if;
    exception
      when data_exception then
        v_id := null;
    end;
    if v_id is null or (v_a1 is null and v_a2 is null) then
      raise exception 'p_after is not a cursor of sort %', v_sort
        using errcode = 'invalid_parameter_value',
          hint = 'Pass the cursor of the last row of the previous page, with the same sort.';
    end if;
  end if;

  -- The page is chosen first, reading only the sort key and id, and only its rows are fetched
  -- in full and joined to their stock:
  -- * with words, the matches are gathered by the text-search index (a materialized CTE, so the
  --   planner cannot trade it for an ordered index scan testing @@ on every product, which it
  --   misjudges as cheap for rare words) and sorted;
  -- * in a leaf category, sorted by anything but price, its few products are gathered by
  --   products_category_id_price_cents_idx and sorted;
  -- * otherwise the page is read in order from the sort key's index, filtered on the columns
  --   that index includes (category, price), as an index-only scan.
  v_key := case when v_key = 'rank' then '' else ', p.' || v_key end;
  if v_query is not null then
    -- Matches sorted first, the stock test after (OFFSET 0 keeps it out of the sorted subquery):
    -- it then runs on the first rows in page order only, not on every match.
    v_source := format('(select * from (with matches as materialized (select p.id, %s as rank%s'
      || ' from public.products p where %s) select * from matches s where %s order by %s'
      || ' offset 0) m)', v_rank, v_key, v_where, v_keyset, v_order);
  elsif pg_catalog.cardinality(v_categories) = 1 and v_key <> ', p.price_cents' then
    v_source := format('(select * from (with candidates as materialized (select p.id,'
      || ' 0::real as rank%s from public.products p where %s) select * from candidates) c)',
      v_key, v_where);
  else
    v_source := format('(select p.id, 0::real as rank%s from public.products p where %s)',
      v_key, v_where);
  end if;

  return query execute format(
    'with page as (select s.* from %s s%s where %s%s order by %s limit $8)'
    || ' select p.id, p.sku, p.name, p.price_cents, p.currency, p.category_id,'
    || ' coalesce(i.on_hand - i.reserved, 0)::integer, %s, %s'
    || ' from page s join public.products p on p.id = s.id'
    || ' left join public.inventory i on i.product_id = s.id order by %s',
    v_source, v_stock_join, v_keyset, v_stock, v_order, v_page_rank, v_cursor, v_order
  ) using v_query, v_categories, p_min_price_cents, p_max_price_cents, v_a1, v_a2, v_id, p_limit;
end
$$;
comment on function public.search_products(text, bigint, bigint, bigint, boolean, text, integer, jsonb) is
  'Active products matching a search text (words AND-ed, the last one as a prefix, ranked by '
  'ts_rank with name and SKU above description), optionally in a category and its descendants, '
  'a price range and in or out of stock; sorted by relevance | price | -price | name | -name | '
  'newest (relevance without words = newest); keyset pages: pass the cursor of the last row as '
  'p_after.';

-- 2. Category listing --------------------------------------------------------------------------------

create or replace function public.list_categories()
returns table (
  id bigint,
  parent_id bigint,
  name text,
  slug text,
  "position" integer,
  product_count bigint,
  min_price_cents bigint,
  max_price_cents bigint
)
language sql
stable
set search_path = ''
as $$
  select c.id, c.parent_id, c.name, c.slug, c.position,
    count(p.id), min(p.price_cents), max(p.price_cents)
  from public.categories c
  left join public.products p on p.category_id = c.id and p.active
  group by c.id
  order by c.parent_id nulls first, c.position, c.id
$$;
comment on function public.list_categories() is
  'Every category with the number and price range of its own active products (not its '
  'descendants''; the tree is complete in the result), ordered by parent, position, id.';

-- 3. Sales dashboard ---------------------------------------------------------------------------------

create or replace function private.sales_dashboard_compute(
  p_days integer,
  p_at timestamptz default now()
)
returns jsonb
language sql
stable
set search_path = ''
-- Row estimates over a sliding window are rough: JIT would cost more than it saves.
set jit = off
as $$
  with bounds as (
    select d.today - (p_days - 1) as from_day, d.today as to_day,
      d.today - (2 * p_days - 1) as prev_from_day
    from (select (p_at at time zone 'UTC')::date as today) d
  ),
  sales as materialized (
    select o.id, (o.placed_at at time zone 'UTC')::date as day, o.subtotal_cents, o.item_count
    from public.orders o, bounds b
    where o.placed_at >= (b.prev_from_day::timestamp at time zone 'UTC')
      and o.placed_at < ((b.to_day + 1)::timestamp at time zone 'UTC')
      and o.status in ('paid', 'shipped', 'delivered')
  ),
  -- Aggregate by day first, then pad the calendar: days without sales show zeros.
  sales_by_day as (
    select s.day, sum(s.subtotal_cents)::bigint as revenue_cents, count(*) as orders,
      sum(s.item_count)::bigint as units
    from sales s
    group by s.day
  ),
  days as (
    select g.day::date as day, coalesce(sd.revenue_cents, 0) as revenue_cents,
      coalesce(sd.orders, 0) as orders, coalesce(sd.units, 0) as units
    from bounds b
    cross join lateral pg_catalog.generate_series(
      b.prev_from_day::timestamp, b.to_day::timestamp, interval '1 day') g(day)
    left join sales_by_day sd on sd.day = g.day::date
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
  lines as materialized (
    select i.order_id, i.product_id, i.quantity, i.line_total_cents
    from sales s
    join bounds b on s.day >= b.from_day
    join public.order_items i on i.order_id = s.id
    -- Implied by the join; it tells the planner that only the end of order_items is concerned
    -- (identity ids grow with time), so it probes the covering index per order instead of
    -- hashing every line of the history.
    where i.order_id >= (
      select min(s2.id) from sales s2, bounds b2 where s2.day >= b2.from_day
    )
  ),
  -- Top-level ancestor of each category, walking down from the roots.
  tree as (
    with recursive t as (
      select c.id, c.id as root_id from public.categories c where c.parent_id is null
      union all
      select c.id, t.root_id from public.categories c join t on c.parent_id = t.id
    )
    select t.id, t.root_id from t
  ),
  -- Two steps instead of count(distinct): an order counts once per top-level category it touches.
  order_roots as (
    select tr.root_id, l.order_id, sum(l.line_total_cents)::bigint as revenue_cents,
      sum(l.quantity)::bigint as units
    from lines l
    join public.products p on p.id = l.product_id
    left join tree tr on tr.id = p.category_id
    group by tr.root_id, l.order_id
  ),
  by_root as (
    select r.root_id, sum(r.revenue_cents)::bigint as revenue_cents, count(*) as orders,
      sum(r.units)::bigint as units
    from order_roots r
    group by r.root_id
  ),
  open_orders as (
    select count(*) as orders, coalesce(sum(o.total_cents), 0)::bigint as total_cents,
      min(o.placed_at) as oldest_placed_at
    from public.orders o
    where o.status in ('pending', 'paid')
  ),
  by_product as (
    select l.product_id, sum(l.quantity)::bigint as units,
      sum(l.line_total_cents)::bigint as revenue_cents
    from lines l
    group by l.product_id
    order by revenue_cents desc, units desc, l.product_id
    limit 10
  )
  select pg_catalog.jsonb_build_object(
    'from', b.from_day,
    'to', b.to_day,
    'as_of', p_at,
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
        select null, br.revenue_cents, br.orders, br.units from by_root br where br.root_id is null
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

comment on function private.sales_dashboard_compute(integer, timestamptz) is
  'The sales dashboard of the p_days UTC days up to p_at''s day (today included), computed live '
  'from orders and lines: totals, previous period, change, daily series (zeros on days without '
  'sales), top-level categories, top 10 products. Revenue = subtotal of paid, shipped and '
  'delivered orders; open_orders = pending and paid orders now.';

create or replace function public.sales_dashboard(p_days integer default 30)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  if not private.caller_reads_all_orders() then
    raise exception 'the sales dashboard is for admins' using errcode = 'insufficient_privilege';
  end if;
  if p_days is null or p_days not between 1 and 366 then
    raise exception 'p_days must be between 1 and 366' using errcode = 'invalid_parameter_value';
  end if;
  return private.sales_dashboard_compute(p_days, now());
end
$$;
comment on function public.sales_dashboard(integer) is
  'Sales KPIs of the last p_days UTC days (see private.sales_dashboard_compute) for admins and the '
  'service role; anyone else gets SQLSTATE 42501.';

-- 4. Order details -----------------------------------------------------------------------------------

create or replace function public.order_details(p_order_id bigint)
returns jsonb
-- plpgsql rather than sql: its statement plans are cached for the session (a pooled connection),
-- where a sql function would plan its query again on every call.
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  return (
    select pg_catalog.jsonb_build_object(
      'id', o.id,
      'status', o.status,
      'currency', o.currency,
      'subtotal_cents', o.subtotal_cents,
      'shipping_cents', o.shipping_cents,
      'total_cents', o.total_cents,
      'item_count', o.item_count,
      'placed_at', o.placed_at,
      'customer', (
        select pg_catalog.jsonb_build_object('id', c.id, 'email', c.email, 'full_name', c.full_name)
        from public.customers c
        where c.id = o.customer_id
      ),
      -- A left join keeps every line: a product the caller may not see (deactivated since) shows
      -- without sku and name.
      'items', coalesce((
        select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
          'line_no', i.line_no, 'product_id', i.product_id, 'sku', p.sku, 'name', p.name,
          'quantity', i.quantity, 'unit_price_cents', i.unit_price_cents,
          'line_total_cents', i.line_total_cents) order by i.line_no)
        from public.order_items i
        left join public.products p on p.id = i.product_id
        where i.order_id = o.id
      ), '[]'::jsonb)
    )
    from public.orders o
    where o.id = p_order_id
  );
end
$$;
comment on function public.order_details(bigint) is
  'One order with customer and lines (product sku and name), or null when it does not exist or '
  'RLS hides it from the caller (security invoker).';

-- 5. Real-time inventory -----------------------------------------------------------------------------

create or replace function public.inventory_levels(
  p_product_ids bigint[] default null,
  p_skus text[] default null
)
returns table (
  product_id bigint,
  sku text,
  on_hand integer,
  reserved integer,
  available integer,
  updated_at timestamptz
)
-- plpgsql for its per-session plan cache, as order_details.
language plpgsql
stable
set search_path = ''
as $$
begin
  return query
  select p.id, p.sku, coalesce(i.on_hand, 0), coalesce(i.reserved, 0),
    coalesce(i.on_hand - i.reserved, 0), i.updated_at
  from public.products p
  left join public.inventory i on i.product_id = p.id
  where p.active and (p.id = any (p_product_ids) or p.sku = any (p_skus))
  order by p.id;
end
$$;
comment on function public.inventory_levels(bigint[], text[]) is
  'Live stock (on hand, reserved, available) of the active products among the given ids and '
  'SKUs, by product id; a product without a stock row shows zeros.';

-- Privileges -----------------------------------------------------------------------------------------
-- Functions are executable by PUBLIC by default and Supabase grants new public functions to the API
-- roles: revoke everything, then grant each function to the least roles that need it.

revoke all on function
  private.search_tsquery(text),
  private.is_revenue_status(public.order_status),
  private.caller_reads_all_orders(),
  private.change_pct(numeric, numeric),
  private.sales_dashboard_compute(integer, timestamptz),
  public.search_products(text, bigint, bigint, bigint, boolean, text, integer, jsonb),
  public.list_categories(),
  public.sales_dashboard(integer),
  public.order_details(bigint),
  public.inventory_levels(bigint[], text[])
from public, anon, authenticated, service_role;

grant execute on function
  public.search_products(text, bigint, bigint, bigint, boolean, text, integer, jsonb),
  public.list_categories(),
  public.inventory_levels(bigint[], text[])
to anon, authenticated, service_role;
grant execute on function public.order_details(bigint) to authenticated, service_role;
grant execute on function public.sales_dashboard(integer) to authenticated, service_role;
