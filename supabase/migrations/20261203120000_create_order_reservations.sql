-- Stock held by unpaid orders is a lease, not a gift: without one, a customer who orders the whole
-- stock and never pays keeps everyone else out for good. Each placement records its reservation;
-- a scheduled job cancels pending orders whose reservation is older than order_limits.pending_ttl,
-- and cancelling a pending order (by the job or by hand) gives its units back, in the same
-- transaction. order_limits also caps how many unpaid orders and units one customer may hold, which
-- shop_api.place_order enforces (next migration).

create table if not exists private.order_limits (
  id boolean not null default true,
  pending_ttl interval not null default interval '30 minutes',
  max_pending_orders integer not null default 20,
  max_pending_units integer not null default 2000,
  expire_batch integer not null default 500,
  constraint order_limits_pkey primary key (id),
  constraint order_limits_id_check check (id),
  constraint order_limits_pending_ttl_check
    check (pending_ttl between interval '1 minute' and interval '7 days'),
  constraint order_limits_max_pending_orders_check check (max_pending_orders between 1 and 10000),
  constraint order_limits_max_pending_units_check check (max_pending_units between 1 and 10000000),
  constraint order_limits_expire_batch_check check (expire_batch between 1 and 100000)
);
comment on table private.order_limits is
  'Limits on unpaid orders; one row. Changes apply to the next placement and the next expiry run.';
comment on column private.order_limits.id is 'Always true: the table has one row.';
comment on column private.order_limits.pending_ttl is
  'How long a pending order holds its stock before the expiry job cancels it.';
comment on column private.order_limits.max_pending_orders is
  'Most pending orders one customer may hold; one more is refused with SQLSTATE CT429.';
comment on column private.order_limits.max_pending_units is
  'Most units one customer may hold across pending orders (the new one included); CT429 above.';
comment on column private.order_limits.expire_batch is
  'Most orders one run of private.expire_pending_orders() cancels; the next run takes the rest.';
alter table private.order_limits enable row level security;
revoke all on table private.order_limits from public, anon, authenticated;
grant select, update on table private.order_limits to service_role;
insert into private.order_limits (id) values (true) on conflict (id) do nothing;

create table if not exists private.order_reservations (
  order_id bigint not null,
  -- No foreign key to customers: deleting a customer must not forget stock their orders still hold.
  customer_id uuid not null,
  units integer not null,
  reserved_at timestamptz not null default now(),
  constraint order_reservations_pkey primary key (order_id),
  constraint order_reservations_order_id_fkey foreign key (order_id)
    references public.orders (id) on delete cascade,
  constraint order_reservations_units_check check (units > 0)
);
comment on table private.order_reservations is
  'Stock held by a pending order placed through shop_api.place_order, until it is paid, cancelled '
  'or expires. Orders written otherwise (demo data, imports) have none and never expire.';
comment on column private.order_reservations.order_id is 'The pending order.';
comment on column private.order_reservations.customer_id is 'Who placed it (the per-customer cap).';
comment on column private.order_reservations.units is 'Units the order reserved (its item_count).';
comment on column private.order_reservations.reserved_at is
  'When the stock was reserved; the order expires at reserved_at + order_limits.pending_ttl.';
alter table private.order_reservations enable row level security;
revoke all on table private.order_reservations from public, anon, authenticated;
grant select on table private.order_reservations to service_role;

create index if not exists order_reservations_customer_id_idx
  on private.order_reservations (customer_id);
comment on index private.order_reservations_customer_id_idx is
  'The per-customer cap: pending orders and units of one customer.';
create index if not exists order_reservations_reserved_at_idx
  on private.order_reservations (reserved_at);
comment on index private.order_reservations_reserved_at_idx is
  'The expiry job: the oldest reservations first.';

create or replace function private.release_order_reservation()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_found boolean;
begin
  delete from private.order_reservations r where r.order_id = new.id;
  v_found := found;
  -- Paid: the units stay reserved for shipping. Cancelled: they go back on sale.
  if v_found and new.status = 'cancelled' then
    -- Row locks in product order, as place_order takes them, so the two never deadlock.
    perform 1 from public.inventory v
    where v.product_id in (select i.product_id from public.order_items i where i.order_id = new.id)
    order by v.product_id
    for update;
    -- greatest(): a hand-edited reserved below the order's units must not wedge the expiry job.
    update public.inventory v
    set reserved = greatest(v.reserved - l.quantity, 0)
    from (
      select i.product_id, sum(i.quantity)::integer as quantity
      from public.order_items i
      where i.order_id = new.id
      group by i.product_id
    ) l
    where v.product_id = l.product_id;
  end if;
  return null;
end
$$;
comment on function private.release_order_reservation() is
  'AFTER UPDATE OF status trigger on orders leaving pending: drops the reservation record and, when '
  'the order is cancelled, gives its reserved units back.';

create or replace trigger orders_release_reservation
  after update of status on public.orders
  for each row
  when (old.status = 'pending' and new.status is distinct from 'pending')
  execute function private.release_order_reservation();

create or replace function private.expire_pending_orders()
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_limits private.order_limits;
  v_due bigint[];
begin
  select l.* into v_limits from private.order_limits l where l.id;
  -- SKIP LOCKED: an order being paid or cancelled right now is left to the next run instead of
  -- blocking this one, and two runs at once take different orders. The status is checked again on
  -- the locked row, so an order paid since the snapshot is not touched.
  select pg_catalog.array_agg(d.id order by d.id) into v_due
  from (
    select o.id
    from private.order_reservations r
    join public.orders o on o.id = r.order_id
    where r.reserved_at <= now() - v_limits.pending_ttl and o.status = 'pending'
    order by r.reserved_at
    limit v_limits.expire_batch
    for update of o skip locked
  ) d;
  if v_due is null then
    return 0;
  end if;
  -- Every stock row of the batch, in product order, before the per-order releases of the trigger:
  -- taken one order at a time they would interleave with placements and could deadlock.
  perform 1 from public.inventory v
  where v.product_id in (
    select i.product_id from public.order_items i where i.order_id = any (v_due)
  )
  order by v.product_id
  for update;
  update public.orders o set status = 'cancelled' where o.id = any (v_due);
  return pg_catalog.cardinality(v_due);
end
$$;
comment on function private.expire_pending_orders() is
  'Cancels up to order_limits.expire_batch pending orders whose reservation is older than '
  'order_limits.pending_ttl, releasing their stock in the same transaction; returns how many. '
  'Idempotent, and safe beside placements and payments (locked orders are skipped).';

revoke all on function
  private.release_order_reservation(),
  private.expire_pending_orders()
from public, anon, authenticated, service_role;
grant execute on function private.expire_pending_orders() to service_role;

insert into private.scheduled_jobs (name, schedule, command, description) values
  ('expire-pending-orders', '* * * * *',
    $$select private.expire_pending_orders()$$,
    'Cancels unpaid orders older than order_limits.pending_ttl and puts their stock back on sale; '
    'every minute, so stock comes back at most a minute after its reservation ends.')
on conflict (name) do update
  set schedule = excluded.schedule, command = excluded.command,
    description = excluded.description;
