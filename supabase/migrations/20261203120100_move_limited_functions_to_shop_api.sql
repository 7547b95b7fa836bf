-- Functions that carry a limit the API enforces move out of the Data API's reach. PostgREST serves
-- every function of an exposed schema that a role may execute: public.place_order (granted to
-- authenticated) could be called directly, skipping the API's fail-closed order rate limit and
-- taking a client-chosen request hash, and public.inventory_levels_cached (granted to anon) wrote a
-- cache entry per unknown id with no array limit. In shop_api, a schema that config.toml does not
-- expose and that only the service role (besides the owner, the role the functions connect as) may
-- use, they are reachable through the API alone. place_order takes the customer from the API,
-- which verified the JWT, and caps each customer's unpaid orders (private.order_limits); the
-- inventory lookups refuse more than 100 ids or SKUs in SQL too, as the API's validation does.

create schema if not exists shop_api;
revoke all on schema shop_api from public, anon, authenticated;
grant usage on schema shop_api to service_role;
comment on schema shop_api is
  'Functions the api function calls as its own database role; not exposed through the Data API, '
  'not usable by anon or authenticated.';

-- The array limit ---------------------------------------------------------------------------------
-- The API's limit (supabase/functions/api/schemas.ts, inventoryQuery) is 100 ids and 100 SKUs; both
-- lookups refuse more with 22023, before reading or writing anything.

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
  if coalesce(pg_catalog.cardinality(p_product_ids), 0) > 100
     or coalesce(pg_catalog.cardinality(p_skus), 0) > 100 then
    raise exception 'at most 100 product ids and 100 SKUs' using errcode = 'invalid_parameter_value';
  end if;
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
  'SKUs (at most 100 of each), by product id; a product without a stock row shows zeros.';

-- Inventory through the cache ---------------------------------------------------------------------

drop function if exists public.inventory_levels_cached(bigint[], text[]);

create or replace function shop_api.inventory_levels_cached(
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
language plpgsql
volatile
-- Definer: the cache is private. The result is what inventory_levels shows to everyone: the stock
-- of active products.
security definer
set search_path = ''
as $$
declare
  v_now constant timestamptz := clock_timestamp();
  v_writable constant boolean := private.cache_writable();
  v_ids bigint[];
  v_hits jsonb;
  v_hit_count integer;
  v_missing bigint[];
  v_stale_keys text[];
  v_filled jsonb;
begin
  if coalesce(pg_catalog.cardinality(p_product_ids), 0) > 100
     or coalesce(pg_catalog.cardinality(p_skus), 0) > 100 then
    raise exception 'at most 100 product ids and 100 SKUs' using errcode = 'invalid_parameter_value';
  end if;
  select pg_catalog.array_agg(distinct x.id) into v_ids
  from (
    select u.id from unnest(p_product_ids) u(id)
    union all
    select p.id from public.products p where p.sku = any (p_skus)
  ) x
  where x.id is not null;
  if v_ids is null then
    return;
  end if;

  -- 1. Read what the cache holds: a plain index read per key, no write.
  select
    pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('product_id', w.id) || c.value)
      filter (where c.value is not null and c.expires_at > v_now),
    (count(*) filter (where c.value is not null and c.expires_at > v_now))::integer,
    pg_catalog.array_agg(w.id) filter (where c.value is null or c.expires_at <= v_now),
    pg_catalog.array_agg(c.key) filter (where c.value is not null and c.expires_at > v_now
      and c.accessed_at <= v_now - (select s.touch_interval from private.cache_settings s))
  into v_hits, v_hit_count, v_missing, v_stale_keys
  from unnest(v_ids) w(id)
  left join private.cache_entries c on c.key = 'inventory:' || w.id;

  -- 2. Misses: read the live stock and fill, in one statement, so the stock and the versions the
  -- fills are conditioned on come from one snapshot. A fill lands only on the version seen (0: no
  -- row): a tombstone written since has a new version, and one not yet committed holds the row
  -- until it is, so an older stock level is never stored over a newer change.
  if v_missing is not null then
    with looked_up as (
      select w.id, 'inventory:' || w.id as key, coalesce(c.version, 0) as version
      from unnest(v_missing) w(id)
      left join private.cache_entries c on c.key = 'inventory:' || w.id
    ),
    -- Products that are inactive or do not exist are cached too, as not listed, so asking for
    -- them again is a hit rather than a fill each time.
    live as (
      select l.id, l.key, l.version,
        case when p.active then pg_catalog.jsonb_build_object(
          'listed', true, 'sku', p.sku, 'on_hand', coalesce(i.on_hand, 0),
          'reserved', coalesce(i.reserved, 0), 'available', coalesce(i.on_hand - i.reserved, 0),
          'updated_at', i.updated_at
        ) else '{"listed": false}'::jsonb end as value
      from looked_up l
      left join public.products p on p.id = l.id
      left join public.inventory i on i.product_id = p.id and p.active
    ),
    filled as (
      insert into private.cache_entries as c (
        key, value, bytes, version, expires_at, accessed_at, written_at
      )
      select f.key, f.value, octet_length(f.key) + pg_catalog.pg_column_size(f.value), f.version,
        v_now + interval '10 minutes', v_now, v_now
      from live f
      where v_writable
      on conflict (key) do update
        set value = excluded.value, bytes = excluded.bytes, expires_at = excluded.expires_at,
          accessed_at = excluded.accessed_at, written_at = excluded.written_at
        where c.version = excluded.version
    )
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('product_id', f.id) || f.value)
    into v_filled
    from live f;
  end if;

  if v_writable then
    -- LRU recency, at most once per touch_interval per key.
    if v_stale_keys is not null then
      update private.cache_entries c set accessed_at = v_now
      where c.key = any (v_stale_keys) and c.accessed_at < v_now;
    end if;
    perform pg_catalog.nextval('private.cache_hits') from generate_series(1, v_hit_count);
    perform pg_catalog.nextval('private.cache_misses')
    from generate_series(1, coalesce(pg_catalog.cardinality(v_missing), 0));
  end if;

  return query
  select x.product_id, x.sku, x.on_hand, x.reserved, x.available, x.updated_at
  from pg_catalog.jsonb_to_recordset(
    coalesce(v_hits, '[]'::jsonb) || coalesce(v_filled, '[]'::jsonb)
  ) as x(
    product_id bigint, listed boolean, sku text, on_hand integer, reserved integer,
    available integer, updated_at timestamptz
  )
  where x.listed
  order by x.product_id;
end
$$;
comment on function shop_api.inventory_levels_cached(bigint[], text[]) is
  'inventory_levels() through the cache: one entry per product id (key inventory:<id>, 10 minute '
  'TTL; inactive and unknown ids cached as not listed), filled on a miss, invalidated by triggers '
  'on inventory and products in the same transaction as the change, so a cached level is never '
  'older than the last committed one. At most 100 ids and 100 SKUs (22023 above).';

-- Order placement ---------------------------------------------------------------------------------

drop function if exists public.place_order(jsonb, text, text);

create or replace function shop_api.place_order(
  p_customer_id uuid,
  p_items jsonb,
  p_idempotency_key text default null,
  p_request_hash text default null
)
returns table (order_id bigint, replayed boolean)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_customer uuid := p_customer_id;
  v_limits private.order_limits;
  v_pending_orders integer;
  v_pending_units bigint;
  v_existing record;
  v_order bigint;
  v_product_ids bigint[];
  v_quantities integer[];
  v_unknown jsonb;
  v_short jsonb;
  v_currencies integer;
  v_currency char(3);
  v_subtotal bigint;
  v_units integer;
begin
  if v_customer is null then
    raise exception 'sign in to place an order' using errcode = 'insufficient_privilege';
  end if;
  if jsonb_typeof(p_items) is distinct from 'array'
     or jsonb_array_length(p_items) not between 1 and 50 then
    raise exception 'items must be an array of 1 to 50 lines' using errcode = 'invalid_parameter_value';
  end if;
  if (p_idempotency_key is null) <> (p_request_hash is null) then
    raise exception 'an idempotency key needs its request hash' using errcode = 'invalid_parameter_value';
  end if;

  if p_idempotency_key is not null then
    -- Serialises concurrent retries of one key: the second waits, then finds the first's order.
    perform pg_catalog.pg_advisory_xact_lock(
      pg_catalog.hashtextextended(v_customer::text || '/' || p_idempotency_key, 0)
    );
    select k.order_id, k.request_hash into v_existing
    from private.idempotency_keys k
    where k.customer_id = v_customer and k.key = p_idempotency_key;
    if found then
      if v_existing.request_hash <> p_request_hash then
        raise exception 'idempotency key % was used with a different request', p_idempotency_key
          using errcode = 'CT409';
      end if;
      return query select v_existing.order_id::bigint, true;
      return;
    end if;
  end if;

  -- A product is named by id or by SKU; lines for the same product are merged, in first-seen order.
  with requested as (
    select coalesce(
             (e.item ->> 'product_id')::bigint,
             (select p.id from public.products p where p.sku = upper(e.item ->> 'sku'))
           ) as product_id,
           (e.item ->> 'quantity')::integer as quantity,
           e.position,
           e.item
    from jsonb_array_elements(p_items) with ordinality as e(item, position)
  ),
  unknown as (
    select jsonb_agg(r.item order by r.position) as items
    from requested r
    where not exists (
      select 1 from public.products p where p.id = r.product_id and p.active
    )
  ),
  merged as (
    select r.product_id, sum(r.quantity)::integer as quantity, min(r.position) as position
    from requested r
    group by r.product_id
  )
  select (select u.items from unknown u),
         array_agg(m.product_id order by m.position),
         array_agg(m.quantity order by m.position)
  into v_unknown, v_product_ids, v_quantities
  from merged m;

  if v_unknown is not null then
    raise exception 'unknown or unavailable products' using errcode = 'CT404',
      detail = v_unknown::text;
  end if;
  if exists (select 1 from unnest(v_quantities) q where q is null or q not between 1 and 1000) then
    raise exception 'each quantity must be between 1 and 1000' using errcode = 'invalid_parameter_value';
  end if;

  select count(distinct p.currency), min(p.currency) into v_currencies, v_currency
  from public.products p
  where p.id = any (v_product_ids);
  if v_currencies > 1 then
    raise exception 'all products of an order must share one currency' using errcode = 'CT422';
  end if;

  select sum(q)::integer into v_units from unnest(v_quantities) q;

  -- The per-customer cap, under a per-customer lock so that a burst of concurrent placements by one
  -- account is counted one at a time. Expired reservations count until the expiry job releases them.
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('place_order/' || v_customer::text, 0)
  );
  select l.* into v_limits from private.order_limits l where l.id;
  select count(*)::integer, coalesce(sum(r.units), 0)::bigint
  into v_pending_orders, v_pending_units
  from private.order_reservations r
  where r.customer_id = v_customer;
  if v_pending_orders + 1 > v_limits.max_pending_orders
     or v_pending_units + v_units > v_limits.max_pending_units then
    raise exception 'too many pending orders' using errcode = 'CT429',
      detail = pg_catalog.jsonb_build_object(
        'max_pending_orders', v_limits.max_pending_orders,
        'max_pending_units', v_limits.max_pending_units,
        'pending_orders', v_pending_orders,
        'pending_units', v_pending_units,
        'requested_units', v_units
      )::text;
  end if;

  insert into public.customers (id, email, full_name)
  select u.id, coalesce(u.email, u.id::text || '@users.invalid'),
         coalesce(u.raw_user_meta_data ->> 'full_name', '')
  from auth.users u
  where u.id = v_customer
  on conflict (id) do nothing;
  if not exists (select 1 from public.customers c where c.id = v_customer) then
    raise exception 'no user %', v_customer using errcode = 'insufficient_privilege';
  end if;

  -- Row locks in product order: concurrent orders queue on the same rows instead of deadlocking,
  -- and each one sees the reservations committed before it.
  perform 1 from public.inventory i
  where i.product_id = any (v_product_ids)
  order by i.product_id
  for update;

  select jsonb_agg(jsonb_build_object(
           'product_id', l.product_id,
           'requested', l.quantity,
           'available', coalesce(i.on_hand - i.reserved, 0)
         ) order by l.line_no)
  into v_short
  from unnest(v_product_ids, v_quantities) with ordinality as l(product_id, quantity, line_no)
  left join public.inventory i on i.product_id = l.product_id
  where coalesce(i.on_hand - i.reserved, 0) < l.quantity;
  if v_short is not null then
    raise exception 'not enough stock' using errcode = 'CT410', detail = v_short::text;
  end if;

  select sum(l.quantity * p.price_cents) into v_subtotal
  from unnest(v_product_ids, v_quantities) as l(product_id, quantity)
  join public.products p on p.id = l.product_id;

  insert into public.orders (customer_id, status, currency, subtotal_cents, shipping_cents,
                             total_cents, item_count)
  values (v_customer, 'pending', v_currency, v_subtotal, private.shipping_cents(v_subtotal),
          v_subtotal + private.shipping_cents(v_subtotal), v_units)
  returning id into v_order;

  insert into public.order_items (order_id, line_no, product_id, quantity, unit_price_cents,
                                  line_total_cents)
  select v_order, l.line_no, l.product_id, l.quantity, p.price_cents, l.quantity * p.price_cents
  from unnest(v_product_ids, v_quantities) with ordinality as l(product_id, quantity, line_no)
  join public.products p on p.id = l.product_id;

  update public.inventory i
  set reserved = i.reserved + l.quantity
  from unnest(v_product_ids, v_quantities) as l(product_id, quantity)
  where i.product_id = l.product_id;

  insert into private.order_reservations (order_id, customer_id, units)
  values (v_order, v_customer, v_units);

  if p_idempotency_key is not null then
    insert into private.idempotency_keys (customer_id, key, request_hash, order_id)
    values (v_customer, p_idempotency_key, p_request_hash, v_order);
  end if;

  return query select v_order, false;
end
$$;
comment on function shop_api.place_order(uuid, jsonb, text, text) is
  'Places an order for p_customer_id (the API passes the verified JWT subject): prices from the '
  'catalog, stock reserved under row locks and recorded in private.order_reservations, totals '
  'computed here. Items: [{"product_id"|"sku", "quantity"}]. Errors: CT404 unknown products, '
  'CT410 not enough stock, CT409 idempotency key reused with another body, CT422 mixed '
  'currencies, CT429 more pending orders or units than private.order_limits allows.';

-- Privileges ---------------------------------------------------------------------------------------

revoke all on function
  shop_api.inventory_levels_cached(bigint[], text[]),
  shop_api.place_order(uuid, jsonb, text, text)
from public, anon, authenticated, service_role;
grant execute on function
  shop_api.inventory_levels_cached(bigint[], text[]),
  shop_api.place_order(uuid, jsonb, text, text)
to service_role;
