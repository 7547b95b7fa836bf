-- Deterministic demo data generator for the shop (schema demo): catalog, customers, orders, stock.
--
-- Every value is a pure function of (seed, row id): random draws come from
-- hashint8extended(row id, seed-derived stream), never random(), so any chunking of the order
-- range, in any order, on any number of connections, gives identical data (demo.checksum()).
--
-- Usage, one call:   select demo.generate(10);          -- 10k orders, 1k products, 1k customers
-- Usage, chunked:    select demo.generate_catalog(42, 1000, 100000, 100000, '2026-11-26', 365);
--                    select demo.generate_orders(42, 1, 50000, '2026-11-26', 365, 1000000);
--                    select demo.generate_orders(42, 50001, 50000, '2026-11-26', 365, 1000000);
--                    ...
--                    select demo.finish();
-- The generator writes explicit ids into an empty shop; demo.reset() empties it. The functions
-- belong to the migration role and are granted to no API role.

create schema if not exists demo;
revoke all on schema demo from public;
comment on schema demo is
  'Deterministic demo data generator; for seeding and benchmarks, not exposed to any API role.';

create table if not exists demo.catalog_state (
  id boolean not null default true,
  seed integer not null,
  categories integer not null,
  products integer not null,
  customers integer not null,
  catalog_from timestamptz not null,
  catalog_to timestamptz not null,
  constraint catalog_state_pkey primary key (id),
  constraint catalog_state_id_check check (id),
  constraint catalog_state_window_check check (catalog_from < catalog_to)
);
alter table demo.catalog_state enable row level security;
comment on table demo.catalog_state is
  'Parameters of the generated catalog (one row), read by generate_orders to pick customers and '
  'products consistently across chunks.';
comment on column demo.catalog_state.id is 'Always true: the table holds at most one row.';
comment on column demo.catalog_state.seed is 'Seed the catalog and customers were generated with.';
comment on column demo.catalog_state.categories is 'Categories generated, ids 1..categories.';
comment on column demo.catalog_state.products is 'Products generated, ids 1..products.';
comment on column demo.catalog_state.customers is
  'Customers generated (customer numbers 1..customers).';
comment on column demo.catalog_state.catalog_from is
  'Shop launch: catalog created, first customer signs up.';
comment on column demo.catalog_state.catalog_to is
  'Last customer signs up; customers sign up evenly in between.';

-- Uniform draw in [0, 1) from the low 53 bits of a 64-bit hash: exact in double precision, and
-- hashint8extended is arithmetic on integers, so results do not depend on the platform.
-- Plain SQL without SET options so the planner inlines it into the bulk inserts.
create or replace function demo.unit(p_key bigint, p_stream bigint)
returns double precision
language sql
immutable
parallel safe
as $$
  select (pg_catalog.hashint8extended(p_key, p_stream) & 9007199254740991)::double precision
    / 9007199254740992::double precision
$$;
comment on function demo.unit(bigint, bigint) is
  'Deterministic uniform number in [0, 1) for a row key and a random stream.';

create or replace function demo.customer_id(p_seed integer, p_customer bigint)
returns uuid
language sql
immutable
parallel safe
as $$
  select overlay(
    overlay(
      pg_catalog.md5('comptoir-demo-customer:' || p_seed::text || ':' || p_customer::text)
      placing '4' from 13
    )
    placing '8' from 17
  )::uuid
$$;
comment on function demo.customer_id(integer, bigint) is
  'Deterministic version-4-shaped uuid of demo customer number p_customer for a seed.';

create or replace function demo.generate_catalog(
  p_seed integer,
  p_categories integer,
  p_products integer,
  p_customers integer,
  p_end timestamptz default date_trunc('day', now()),
  p_days integer default 365
)
returns void
language plpgsql
set search_path = ''
set timezone = 'UTC'
-- Row estimates of these bulk statements are far off: JIT would cost more than it saves.
set jit = off
as $$
declare
  -- Streams 1..99 of the seed belong to the catalog, 100.. to the orders.
  v_s constant bigint := p_seed::bigint * 1000;
  -- Customers sign up evenly from two order windows before p_end until p_end, so half of them
  -- already exist when the order window opens.
  v_from constant timestamptz := p_end - make_interval(days => 2 * p_days);
  v_span_s constant double precision := 2 * p_days * 86400;
  v_roots integer;
  v_level2 integer;
  v_replication_role constant text := current_setting('session_replication_role');
  v_bulk boolean := false;
begin
  if p_categories < 1 or p_products < 1 or p_customers < 1 or p_days < 1 then
    raise exception 'demo.generate_catalog needs positive counts and days'
      using errcode = 'invalid_parameter_value';
  end if;
  if exists (select 1 from public.categories) or exists (select 1 from public.products)
    or exists (select 1 from public.customers) or exists (select 1 from public.orders) then
    raise exception 'demo data needs an empty shop'
      using errcode = 'object_not_in_prerequisite_state',
        hint = 'select demo.reset() empties it (development databases only).';
  end if;

  -- The generator writes only consistent rows, so foreign key checks and triggers are skipped
  -- for speed (session_replication_role = replica); the previous role is restored at the end.
  begin
    perform pg_catalog.set_config('session_replication_role', 'replica', true);
    v_bulk := true;
  exception
    when insufficient_privilege then
      raise notice 'demo: cannot set session_replication_role, keys stay checked (slower)';
  end;

  -- Category tree: r roots with r*r children, the rest as grandchildren; r is the smallest
  -- integer with r^3 >= p_categories, so 12 categories give 3 + 9 (two levels) and 1000 give
  -- 10 + 100 + 890 (three levels).
  select min(r.n) into v_roots from generate_series(1, p_categories) r(n)
    where r.n::bigint * r.n * r.n >= p_categories;
  v_level2 := least(p_categories - v_roots, v_roots * v_roots);

  insert into public.categories (id, parent_id, name, slug, position, created_at, updated_at)
  overriding system value
  select c.id, null, c.name,
    lower(regexp_replace(c.name, '[^A-Za-z0-9]+', '-', 'g')) || '-' || c.id,
    c.id - 1, v_from, v_from
  from (
    select r.n as id,
      (array['Home', 'Kitchen', 'Garden', 'Outdoor', 'Sports', 'Toys', 'Books', 'Music',
        'Electronics', 'Computers', 'Office', 'Beauty', 'Health', 'Fashion', 'Shoes', 'Jewelry',
        'Pets', 'Baby', 'Automotive', 'Tools', 'Grocery', 'Crafts', 'Travel', 'Games'])
        [1 + (r.n - 1) % 24]
      || case when r.n > 24 then ' ' || (1 + (r.n - 1) / 24)::text else '' end as name
    from generate_series(1, v_roots) r(n)
  ) c;

  insert into public.categories (id, parent_id, name, slug, position, created_at, updated_at)
  overriding system value
  select c.id, c.parent_id, c.name,
    lower(regexp_replace(c.name, '[^A-Za-z0-9]+', '-', 'g')) || '-' || c.id,
    c.sibling, v_from, v_from
  from (
    select l.id, p.id as parent_id, l.sibling,
      p.name || ' ' || (array['Essentials', 'Accessories', 'Classics', 'Premium', 'Basics',
        'Sets', 'Care', 'Storage', 'Decor', 'Parts', 'Kids', 'Outlet'])[1 + l.sibling % 12]
        as name
    from (
      select n as id, 1 + (n - v_roots - 1) % v_roots as parent_id,
        (n - v_roots - 1) / v_roots as sibling
      from generate_series(v_roots + 1, v_roots + v_level2) n
    ) l
    join public.categories p on p.id = l.parent_id
  ) c;

  insert into public.categories (id, parent_id, name, slug, position, created_at, updated_at)
  overriding system value
  select c.id, c.parent_id, c.name,
    lower(regexp_replace(c.name, '[^A-Za-z0-9]+', '-', 'g')) || '-' || c.id,
    c.sibling, v_from, v_from
  from (
    select l.id, p.id as parent_id, l.sibling,
      (array['Compact', 'Deluxe', 'Eco', 'Vintage', 'Pro', 'Travel', 'Everyday', 'Limited'])
        [1 + l.sibling % 8] || ' ' || p.name as name
    from (
      select n as id, v_roots + 1 + (n - v_roots - v_level2 - 1) % v_level2 as parent_id,
        (n - v_roots - v_level2 - 1) / v_level2 as sibling
      from generate_series(v_roots + v_level2 + 1, p_categories) n
    ) l
    join public.categories p on p.id = l.parent_id
  ) c;

  -- Products sit in non-root categories (in the root when there is nothing else). Prices are
  -- skewed to the low end with a 5 % premium tier; 5 % of the catalog is inactive.
  insert into public.products (
    id, sku, name, description, price_cents, currency, category_id, active, created_at, updated_at
  )
  overriding system value
  with h as materialized (
    select n as id,
      demo.unit(n, v_s + 1) as u_adj, demo.unit(n, v_s + 2) as u_material,
      demo.unit(n, v_s + 3) as u_noun, demo.unit(n, v_s + 4) as u_phrase1,
      demo.unit(n, v_s + 5) as u_phrase2, demo.unit(n, v_s + 6) as u_price,
      demo.unit(n, v_s + 7) as u_premium, demo.unit(n, v_s + 8) as u_category,
      demo.unit(n, v_s + 9) as u_active
    from generate_series(1, p_products) n
  ), w as (
    select h.*,
      (array['Classic', 'Modern', 'Compact', 'Deluxe', 'Rustic', 'Smart', 'Vintage', 'Sturdy',
        'Elegant', 'Foldable', 'Portable', 'Handmade', 'Minimal', 'Bold', 'Soft', 'Premium'])
        [1 + floor(h.u_adj * 16)::integer] as adjective,
      (array['Oak', 'Steel', 'Cotton', 'Linen', 'Bamboo', 'Ceramic', 'Glass', 'Leather',
        'Wool', 'Copper', 'Walnut', 'Stone'])[1 + floor(h.u_material * 12)::integer] as material,
      (array['Lamp', 'Chair', 'Table', 'Mug', 'Kettle', 'Backpack', 'Blanket', 'Vase', 'Shelf',
        'Clock', 'Bottle', 'Basket', 'Speaker', 'Notebook', 'Jacket', 'Candle', 'Planter',
        'Tray', 'Bowl', 'Towel'])[1 + floor(h.u_noun * 20)::integer] as noun
    from h
  )
  select w.id,
    upper(left(w.noun, 3)) || '-' || lpad(w.id::text, greatest(6, length(w.id::text)), '0'),
    w.adjective || ' ' || w.material || ' ' || w.noun,
    'A ' || lower(w.adjective) || ' ' || lower(w.noun) || ' in ' || lower(w.material) || '. '
      || (array['Built to last for everyday use.', 'Easy to clean and maintain.',
        'A favourite of our regular customers.', 'Designed and tested in Europe.',
        'Ships in recyclable packaging.', 'Comes with a two-year warranty.'])
        [1 + floor(w.u_phrase1 * 6)::integer] || ' '
      || (array['Pairs well with the rest of the collection.', 'Available while stocks last.',
        'Makes a thoughtful gift.', 'Sized for small spaces.', 'Part of our core range.'])
        [1 + floor(w.u_phrase2 * 5)::integer],
    (100 * (2 + floor(w.u_price * w.u_price * 198)::bigint) - 1)
      * case when w.u_premium < 0.05 then 5 else 1 end,
    'EUR',
    case when p_categories > v_roots
      then v_roots + 1 + floor(w.u_category * (p_categories - v_roots))::bigint
      else 1 + floor(w.u_category * p_categories)::bigint end,
    w.u_active >= 0.05,
    v_from,
    v_from
  from w;

  -- Stock: 7 % sold out, 13 % running low (1..9), the rest 10..499 skewed low; a quarter of
  -- the stocked products have a few units reserved. One restock movement explains each level.
  insert into public.inventory (product_id, on_hand, reserved, updated_at)
  with h as materialized (
    select n as id, demo.unit(n, v_s + 10) as u_level, demo.unit(n, v_s + 11) as u_amount,
      demo.unit(n, v_s + 12) as u_reserved
    from generate_series(1, p_products) n
  ), s as (
    select h.id, h.u_reserved,
      case when h.u_level < 0.07 then 0
        when h.u_level < 0.20 then 1 + floor(h.u_amount * 9)::integer
        else 10 + floor(h.u_amount * h.u_amount * 490)::integer end as on_hand
    from h
  )
  select s.id, s.on_hand,
    case when s.on_hand > 0 and s.u_reserved < 0.25
      then floor(s.u_reserved * 4 * (least(s.on_hand, 10) + 1))::integer else 0 end,
    p_end
  from s;

  insert into public.stock_movements (id, product_id, delta, reason, order_id, created_at)
  overriding system value
  select i.product_id, i.product_id, i.on_hand, 'restock', null, v_from
  from public.inventory i
  where i.on_hand > 0;

  -- Customers with their auth users; users already present (same seed generated before) are kept.
  with c as materialized (
    select k,
      demo.customer_id(p_seed, k) as id,
      (array['Alice', 'Bruno', 'Chloe', 'David', 'Emma', 'Farid', 'Giulia', 'Hugo', 'Ines',
        'Jonas', 'Karin', 'Louis', 'Maya', 'Nils', 'Olga', 'Pablo', 'Quentin', 'Rosa', 'Samir',
        'Tess', 'Ugo', 'Vera', 'Wen', 'Yara'])[1 + floor(demo.unit(k, v_s + 20) * 24)::integer]
        as first_name,
      (array['Martin', 'Bernard', 'Dubois', 'Schmidt', 'Rossi', 'Garcia', 'Jansen', 'Nowak',
        'Silva', 'Novak', 'Larsen', 'Murphy', 'Weber', 'Moreau', 'Costa', 'Horvat', 'Berg',
        'Lambert', 'Keller', 'Ferrari'])[1 + floor(demo.unit(k, v_s + 21) * 20)::integer]
        as last_name,
      v_from + make_interval(secs => floor((k - 1) * v_span_s / p_customers)) as created_at
    from generate_series(1, p_customers::bigint) k
  ), users as (
    insert into auth.users (
      instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
      confirmation_token, recovery_token, email_change_token_new, email_change,
      raw_app_meta_data, raw_user_meta_data, created_at, updated_at
    )
    select '00000000-0000-0000-0000-000000000000', c.id, 'authenticated', 'authenticated',
      lower(c.first_name || '.' || c.last_name) || '.' || c.k || '@example.com', '',
      c.created_at, '', '', '', '',
      '{"provider": "email", "providers": ["email"]}'::jsonb,
      jsonb_build_object('full_name', c.first_name || ' ' || c.last_name),
      c.created_at, c.created_at
    from c
    on conflict do nothing
  )
  insert into public.customers (id, email, full_name, created_at, updated_at)
  select c.id, lower(c.first_name || '.' || c.last_name) || '.' || c.k || '@example.com',
    c.first_name || ' ' || c.last_name, c.created_at, c.created_at
  from c;

  insert into demo.catalog_state as s (
    id, seed, categories, products, customers, catalog_from, catalog_to
  )
  values (true, p_seed, p_categories, p_products, p_customers, v_from, p_end)
  on conflict (id) do update set
    seed = excluded.seed, categories = excluded.categories, products = excluded.products,
    customers = excluded.customers, catalog_from = excluded.catalog_from,
    catalog_to = excluded.catalog_to;

  if v_bulk then
    perform pg_catalog.set_config('session_replication_role', v_replication_role, true);
  end if;
end
$$;
comment on function
  demo.generate_catalog(integer, integer, integer, integer, timestamptz, integer) is
  'Generates the category tree, products, inventory, initial stock movements and customers '
  '(auth.users + customers) into an empty shop. Deterministic for equal arguments.';

create or replace function demo.generate_orders(
  p_seed integer,
  p_first_order bigint,
  p_count integer,
  p_end timestamptz,
  p_days integer,
  p_total bigint default null
)
returns bigint
language plpgsql
set search_path = ''
set timezone = 'UTC'
-- Row estimates of these bulk statements are far off: JIT would cost more than it saves.
set jit = off
as $$
declare
  v_s constant bigint := p_seed::bigint * 1000 + 100;
  v_start constant timestamptz := p_end - make_interval(days => p_days);
  v_last constant bigint := p_first_order + p_count - 1;
  v_state demo.catalog_state;
  v_span_s double precision;
  v_offset bigint;
  v_lines bigint;
  v_replication_role constant text := current_setting('session_replication_role');
  v_bulk boolean := false;
begin
  select * into v_state from demo.catalog_state where id;
  if not found then
    raise exception 'demo.generate_orders needs a catalog'
      using errcode = 'object_not_in_prerequisite_state',
        hint = 'Call demo.generate_catalog first.';
  end if;
  if p_first_order < 1 or p_count < 1 or p_days < 1
    or (p_total is not null and v_last > p_total) then
    raise exception 'demo.generate_orders: orders % to % do not fit (days %, total %)',
      p_first_order, v_last, p_days, p_total
      using errcode = 'invalid_parameter_value';
  end if;
  v_span_s := extract(epoch from v_state.catalog_to - v_state.catalog_from)::double precision;
  -- Popularity ranks map to product ids through rank * prime + offset (mod products), a
  -- permutation because the prime does not divide the product count: best sellers are spread
  -- over the catalog instead of being the first ids.
  v_offset := mod(mod(hashint8extended(v_s, 0), v_state.products) + v_state.products,
    v_state.products);

  -- As in generate_catalog: rows are consistent by construction, so checks are skipped.
  begin
    perform pg_catalog.set_config('session_replication_role', 'replica', true);
    v_bulk := true;
  exception
    when insufficient_privilege then
      raise notice 'demo: cannot set session_replication_role, keys stay checked (slower)';
  end;

  -- placed_at follows an hourly intensity over the window: daily curve (evening peak, quiet
  -- nights), weekly curve (Sunday and Monday high, Saturday low), +50 % growth over the window,
  -- a late-November/December peak and +-15 % day-to-day noise. Each order draws a point x on
  -- the cumulative intensity; the hour it falls in is found with one sort (running max of the
  -- hour starts merged with the points), and x's position inside the hour gives the second.
  -- With p_total, x = (id - 0.5) / p_total: ids 1..p_total then follow placed_at in order.
  with hours as materialized (
    select s.n as slot, v_start + make_interval(hours => s.n) as starts_at
    from generate_series(0, p_days * 24 - 1) s(n)
  ), weights as materialized (
    select h.slot, h.starts_at,
      (array[0.50, 0.30, 0.20, 0.15, 0.15, 0.25, 0.45, 0.80, 1.20, 1.50, 1.70, 1.80, 1.90,
        1.80, 1.70, 1.70, 1.80, 2.00, 2.40, 2.80, 3.00, 2.70, 1.90, 1.10]::double precision[])
        [1 + extract(hour from h.starts_at)::integer]
      * (array[1.10, 0.95, 0.95, 1.00, 1.00, 0.85, 1.20]::double precision[])
        [extract(isodow from h.starts_at)::integer]
      * (1 + 0.5 * (h.slot / 24)::double precision / p_days)
      * (0.85 + 0.30 * demo.unit(h.slot / 24, v_s + 1))
      * case
          when extract(month from h.starts_at) = 11 and extract(day from h.starts_at) >= 20
            then 1.6
          when extract(month from h.starts_at) = 12 and extract(day from h.starts_at) <= 20
            then 1.35
          else 1.0
        end as weight
    from hours h
  ), slots as materialized (
    -- lo = running sum of the previous weights, taken from the previous row so that each hour
    -- ends exactly where the next one starts.
    select c.slot, c.starts_at, c.weight,
      coalesce(lag(c.hi) over (order by c.slot), 0) as lo
    from (
      select w.slot, w.starts_at, w.weight, sum(w.weight) over (order by w.slot) as hi
      from weights w
    ) c
  ), points as (
    select i.n as id,
      case when p_total is null then demo.unit(i.n, v_s + 2)
        else (i.n::double precision - 0.5) / p_total end
      * (select max(s.lo + s.weight) from slots s) as x
    from generate_series(p_first_order, v_last) i(n)
  ), located as (
    select e.id, e.x,
      max(e.slot) over (order by e.x, e.kind rows between unbounded preceding and current row)
        as slot
    from (
      select p.id, p.x, null::integer as slot, 1 as kind from points p
      union all
      select null, s.lo, s.slot, 0 from slots s
    ) e
  ), placed as materialized (
    select l.id,
      s.starts_at + make_interval(
        secs => least(3599, greatest(0, floor((l.x - s.lo) / s.weight * 3600)))
      ) as placed_at,
      demo.unit(l.id, v_s + 3) as u_customer,
      demo.unit(l.id, v_s + 4) as u_lines,
      demo.unit(l.id, v_s + 5) as u_status
    from located l
    join slots s on s.slot = l.slot
    where l.id is not null
  ), facts as (
    select p.id, p.placed_at, p.u_customer, p.u_lines, p.u_status,
      extract(epoch from p_end - p.placed_at)::double precision / 86400 as age_days,
      -- Customers who have signed up by placed_at (numbered in signup order).
      least(v_state.customers, greatest(1,
        floor(extract(epoch from p.placed_at - v_state.catalog_from)::double precision
          / v_span_s * v_state.customers)::bigint + 1)) as signed_up
    from placed p
  ), ord as (
    select f.id, f.placed_at,
      -- Early customers are the loyal ones: density falls linearly with customer number.
      demo.customer_id(v_state.seed,
        1 + floor(f.signed_up * f.u_customer * (1 + f.u_customer) / 2)::bigint) as customer_id,
      -- 1..10 lines: P = .30 .22 .16 .11 .08 .05 .035 .025 .012 .008, mean 3.0.
      1 + width_bucket(f.u_lines,
        array[0.30, 0.52, 0.68, 0.79, 0.87, 0.92, 0.955, 0.98, 0.992]::double precision[])
        as lines,
      (case
        when f.age_days < 1 then case when f.u_status < 0.30 then 'pending'
          when f.u_status < 0.80 then 'paid' when f.u_status < 0.95 then 'shipped'
          else 'cancelled' end
        when f.age_days < 3 then case when f.u_status < 0.03 then 'pending'
          when f.u_status < 0.20 then 'paid' when f.u_status < 0.80 then 'shipped'
          when f.u_status < 0.94 then 'delivered' else 'cancelled' end
        when f.age_days < 14 then case when f.u_status < 0.02 then 'paid'
          when f.u_status < 0.08 then 'shipped' when f.u_status < 0.93 then 'delivered'
          when f.u_status < 0.98 then 'cancelled' else 'refunded' end
        else case when f.u_status < 0.93 then 'delivered'
          when f.u_status < 0.98 then 'cancelled' else 'refunded' end
      end)::public.order_status as status
    from facts f
  ), draws as materialized (
    select o.id as order_id, l.n as line_no,
      demo.unit(o.id * 16 + l.n, v_s + 6) as u_product,
      demo.unit(o.id * 16 + l.n, v_s + 7) as u_quantity
    from ord o
    cross join lateral generate_series(1, o.lines) l(n)
  ), items as materialized (
    -- Popularity rank = floor(products * u^4): the top 1 % of products take ~30 % of the lines,
    -- the top 10 % ~55 %.
    select d.order_id, d.line_no, pr.id as product_id,
      1 + (d.u_quantity < 0.12)::integer + (d.u_quantity < 0.03)::integer as quantity,
      pr.price_cents as unit_price_cents
    from draws d
    join public.products pr on pr.id = mod(
      floor(v_state.products * (d.u_product * d.u_product * d.u_product * d.u_product))::bigint
        * 2147483647 + v_offset,
      v_state.products) + 1
  ), inserted_items as (
    insert into public.order_items (
      order_id, line_no, product_id, quantity, unit_price_cents, line_total_cents
    )
    select i.order_id, i.line_no, i.product_id, i.quantity, i.unit_price_cents,
      i.quantity * i.unit_price_cents
    from items i
  ), totals as (
    select i.order_id, sum(i.quantity * i.unit_price_cents)::bigint as subtotal,
      sum(i.quantity)::integer as units, count(*) as lines
    from items i
    group by i.order_id
  ), inserted_orders as (
    insert into public.orders (
      id, customer_id, status, currency, subtotal_cents, shipping_cents, total_cents,
      item_count, placed_at, updated_at
    )
    overriding system value
    select o.id, o.customer_id, o.status, 'EUR', t.subtotal, sh.cents, t.subtotal + sh.cents,
      t.units, o.placed_at,
      least(p_end, o.placed_at + case o.status
        when 'pending' then interval '0'
        when 'paid' then interval '10 minutes'
        when 'cancelled' then interval '2 hours'
        when 'shipped' then interval '1 day'
        when 'delivered' then interval '3 days'
        else interval '12 days' end)
    from ord o
    join totals t on t.order_id = o.id
    -- Free shipping from 50.00.
    cross join lateral (select case when t.subtotal >= 5000 then 0 else 490 end as cents) sh
  )
  select coalesce(sum(t.lines), 0)::bigint into v_lines from totals t;

  if v_bulk then
    perform pg_catalog.set_config('session_replication_role', v_replication_role, true);
  end if;
  return v_lines;
end
$$;
comment on function demo.generate_orders(integer, bigint, integer, timestamptz, integer, bigint) is
  'Inserts orders p_first_order .. p_first_order + p_count - 1 (explicit ids) with their lines, '
  'placed within p_days before p_end; returns the number of lines. Give p_total (the last id of '
  'the whole run) to make placed_at increase with the id. Any chunking gives the same rows.';

create or replace function demo.finish()
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- Rows were written with explicit ids: move the identity sequences past them.
  perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence('public.categories', 'id'),
    coalesce(m.v, 1), m.v is not null) from (select max(id) as v from public.categories) m;
  perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence('public.products', 'id'),
    coalesce(m.v, 1), m.v is not null) from (select max(id) as v from public.products) m;
  perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence('public.orders', 'id'),
    coalesce(m.v, 1), m.v is not null) from (select max(id) as v from public.orders) m;
  perform pg_catalog.setval(pg_catalog.pg_get_serial_sequence('public.stock_movements', 'id'),
    coalesce(m.v, 1), m.v is not null) from (select max(id) as v from public.stock_movements) m;
  analyze public.categories, public.products, public.customers, public.orders,
    public.order_items, public.inventory, public.stock_movements;
end
$$;
comment on function demo.finish() is
  'After generating: sets the identity sequences past the generated ids and analyzes the tables.';

create or replace function demo.checksum()
returns text
language sql
stable
set search_path = ''
set timezone = 'UTC'
-- Row estimates of these bulk statements are far off: JIT would cost more than it saves.
set jit = off
set datestyle = 'ISO, YMD'
as $$
  select pg_catalog.md5(pg_catalog.string_agg(t.name || ':' || t.digest, ',' order by t.name))
  from (
    select 'categories' as name,
      md5(coalesce(string_agg(md5(c::text), '' order by c.id), '')) as digest
    from public.categories c
    union all
    select 'products', md5(coalesce(string_agg(md5(p::text), '' order by p.id), ''))
    from public.products p
    union all
    select 'inventory', md5(coalesce(string_agg(md5(i::text), '' order by i.product_id), ''))
    from public.inventory i
    union all
    select 'stock_movements', md5(coalesce(string_agg(md5(m::text), '' order by m.id), ''))
    from public.stock_movements m
    union all
    select 'customers', md5(coalesce(string_agg(md5(c::text), '' order by c.id), ''))
    from public.customers c
    union all
    select 'users', md5(coalesce(string_agg(
      md5(row(u.id, u.email, u.created_at, u.raw_user_meta_data)::text), '' order by u.id), ''))
    from auth.users u
    where exists (select 1 from public.customers c where c.id = u.id)
    union all
    select 'orders', md5(coalesce(string_agg(md5(o::text), '' order by o.id), ''))
    from public.orders o
    union all
    select 'order_items',
      md5(coalesce(string_agg(md5(i::text), '' order by i.order_id, i.line_no), ''))
    from public.order_items i
  ) t
$$;
comment on function demo.checksum() is
  'md5 over every shop row in key order (and the customers'' auth users): equal data, equal sum.';

create or replace function demo.generate(
  p_scale integer,
  p_seed integer default 42,
  p_end timestamptz default date_trunc('day', now()),
  p_days integer default 365
)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_orders constant bigint := p_scale::bigint * 1000;
  v_chunk constant integer := 50000;
  v_first bigint := 1;
  v_lines bigint := 0;
begin
  if p_scale < 1 then
    raise exception 'demo.generate needs a scale of at least 1'
      using errcode = 'invalid_parameter_value';
  end if;
  perform demo.generate_catalog(
    p_seed, greatest(12, p_scale), p_scale * 100, p_scale * 100, p_end, p_days
  );
  -- Chunks keep each statement's working set small; the rows do not depend on the chunk size.
  while v_first <= v_orders loop
    v_lines := v_lines + demo.generate_orders(
      p_seed, v_first, least(v_chunk, v_orders - v_first + 1)::integer, p_end, p_days, v_orders
    );
    v_first := v_first + v_chunk;
  end loop;
  perform demo.finish();
  return jsonb_build_object(
    'seed', p_seed,
    'categories', greatest(12, p_scale),
    'products', p_scale * 100,
    'customers', p_scale * 100,
    'orders', v_orders,
    'order_items', v_lines
  );
end
$$;
comment on function demo.generate(integer, integer, timestamptz, integer) is
  'Generates a whole demo shop: scale N = N*1000 orders, N*100 products and customers, '
  'max(12, N) categories, over p_days before p_end. Returns the row counts.';

create or replace function demo.reset()
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- Only the auth users the generator made (recomputed from the recorded seed) are deleted.
  delete from auth.users u
  using demo.catalog_state s
  cross join lateral generate_series(1, s.customers::bigint) k
  where u.id = demo.customer_id(s.seed, k);
  -- cascade: rows of other features that point at shop rows (order audit, idempotency keys...)
  -- are shop data too.
  truncate public.order_items, public.orders, public.stock_movements, public.inventory,
    public.products, public.categories, public.customers
    restart identity cascade;
  delete from demo.catalog_state;
end
$$;
comment on function demo.reset() is
  'Empties the shop tables (cascading to tables that reference them) and deletes the auth users '
  'the generator created. For development databases only.';

revoke all on function
  demo.reset(),
  demo.unit(bigint, bigint),
  demo.customer_id(integer, bigint),
  demo.generate_catalog(integer, integer, integer, integer, timestamptz, integer),
  demo.generate_orders(integer, bigint, integer, timestamptz, integer, bigint),
  demo.finish(),
  demo.checksum(),
  demo.generate(integer, integer, timestamptz, integer)
from public;
revoke all on table demo.catalog_state from public;
