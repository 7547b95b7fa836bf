-- Order placement: one transaction that prices from the catalog, reserves stock under row locks and
-- makes retries safe with idempotency keys.

create table if not exists private.idempotency_keys (
  customer_id uuid not null,
  key text not null,
  request_hash text not null,
  order_id bigint not null,
  created_at timestamptz not null default now(),
  constraint idempotency_keys_pkey primary key (customer_id, key),
  constraint idempotency_keys_order_id_fkey foreign key (order_id)
    references public.orders (id) on delete cascade,
  constraint idempotency_keys_key_check check (char_length(key) between 1 and 255),
  constraint idempotency_keys_request_hash_check check (request_hash ~ '^[0-9a-f]{64}$')
);
comment on table private.idempotency_keys is
  'Idempotency-Key of each placed order: a retry with the same key and body gets the same order.';
alter table private.idempotency_keys enable row level security;
revoke all on table private.idempotency_keys from public, anon, authenticated;
grant select, delete on table private.idempotency_keys to service_role;

create index if not exists idempotency_keys_order_id_idx on private.idempotency_keys (order_id);
comment on index private.idempotency_keys_order_id_idx is
  'Foreign key idempotency_keys_order_id_fkey (order deletes).';
create index if not exists idempotency_keys_created_at_idx on private.idempotency_keys (created_at);
comment on index private.idempotency_keys_created_at_idx is
  'Retention: private.purge_idempotency_keys() deletes keys older than a day.';

create or replace function private.shipping_cents(p_subtotal_cents bigint)
returns bigint
language sql
immutable
set search_path = ''
as $$
  -- Free shipping from 50.00; a flat 4.90 below.
  select case when p_subtotal_cents >= 5000 then 0 else 490 end::bigint
$$;
comment on function private.shipping_cents(bigint) is
  'Shipping fee of an order from its subtotal: free from 5000 minor units, 490 below.';

create or replace function public.place_order(
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
  v_customer uuid := auth.uid();
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

  select sum(l.quantity * p.price_cents), sum(l.quantity) into v_subtotal, v_units
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

  if p_idempotency_key is not null then
    insert into private.idempotency_keys (customer_id, key, request_hash, order_id)
    values (v_customer, p_idempotency_key, p_request_hash, v_order);
  end if;

  return query select v_order, false;
end
$$;
comment on function public.place_order(jsonb, text, text) is
  'Places an order for the signed-in user: prices from the catalog, stock reserved under row locks, '
  'totals computed here. Items: [{"product_id"|"sku", "quantity"}]. Errors: CT404 unknown products, '
  'CT410 not enough stock, CT409 idempotency key reused with another body, CT422 mixed currencies.';

create or replace function private.purge_idempotency_keys(p_older_than interval default '1 day')
returns bigint
language sql
set search_path = ''
as $$
  with gone as (
    delete from private.idempotency_keys k where k.created_at < now() - p_older_than returning 1
  )
  select count(*) from gone
$$;
comment on function private.purge_idempotency_keys(interval) is
  'Deletes idempotency keys older than p_older_than; returns how many.';

revoke all on function public.place_order(jsonb, text, text) from public, anon;
grant execute on function public.place_order(jsonb, text, text) to authenticated, service_role;
revoke all on function private.shipping_cents(bigint) from public;
revoke all on function private.purge_idempotency_keys(interval) from public;
grant execute on function private.purge_idempotency_keys(interval) to service_role;
