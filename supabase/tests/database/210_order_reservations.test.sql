-- Stock held by unpaid orders: reservations expire after order_limits.pending_ttl and release their
-- stock (the order is cancelled), paid orders keep theirs, and one customer's pending orders and
-- units are capped inside shop_api.place_order.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(28);

insert into auth.users (id, aud, role, email) values
  ('00000000-0000-4000-8000-0000000021a1', 'authenticated', 'authenticated', 'rs-a@example.com'),
  ('00000000-0000-4000-8000-0000000021b2', 'authenticated', 'authenticated', 'rs-b@example.com'),
  ('00000000-0000-4000-8000-0000000021c3', 'authenticated', 'authenticated', 'rs-c@example.com');
insert into public.categories (name, slug) values ('RS tests', 'rs-tests');
insert into public.products (sku, name, price_cents, category_id)
select s, s, 100, (select id from public.categories where slug = 'rs-tests')
from unnest(array['RS-TEST-1', 'RS-TEST-2', 'RS-TEST-3']) s;
insert into public.inventory (product_id, on_hand, reserved)
select id, case sku when 'RS-TEST-1' then 300 else 5000 end, 0
from public.products where sku like 'RS-TEST-%';

create function pg_temp.reserved(p_sku text) returns integer language sql as $$
  select i.reserved from public.inventory i join public.products p on p.id = i.product_id
  where p.sku = p_sku
$$;
-- Makes an order's reservation look p_age old.
create function pg_temp.age_reservation(p_order bigint, p_age interval) returns void language sql as $$
  update private.order_reservations set reserved_at = now() - p_age where order_id = p_order
$$;

-- The job ----------------------------------------------------------------------------------------

select results_eq(
  $$select schedule, command from private.scheduled_jobs where name = 'expire-pending-orders'$$,
  $$values ('* * * * *'::text, 'select private.expire_pending_orders()'::text)$$,
  'expiring reservations is a scheduled job, every minute');
create function pg_temp.registered_with_cron(p_job text) returns boolean language plpgsql as $f$
declare
  v_found boolean;
begin
  if not private.pg_cron_enabled() then
    return true; -- the dev scheduler runs the table's rows itself
  end if;
  execute 'select exists (select 1 from cron.job where jobname = $1 and active)' into v_found
    using p_job;
  return v_found;
end
$f$;
select ok(pg_temp.registered_with_cron('expire-pending-orders'),
  'where pg_cron runs in this database, the job is registered with it');
select is((select pending_ttl from private.order_limits), interval '30 minutes',
  'unpaid orders hold their stock for 30 minutes by default');

-- Hoarding, then expiry ----------------------------------------------------------------------------

create temporary table hoard on commit drop as
select * from shop_api.place_order('00000000-0000-4000-8000-0000000021a1',
  '[{"sku":"RS-TEST-1","quantity":300}]');
select is(pg_temp.reserved('RS-TEST-1'), 300, 'one customer reserves the whole stock');
select throws_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000021b2',
    '[{"sku":"RS-TEST-1","quantity":1}]')$$,
  'CT410', 'not enough stock', 'the next customer is refused');
select results_eq(
  $$select customer_id, units from private.order_reservations
    where order_id = (select order_id from hoard)$$,
  $$values ('00000000-0000-4000-8000-0000000021a1'::uuid, 300)$$,
  'the placement records its reservation');

select is(private.expire_pending_orders(), 0, 'a reservation younger than the TTL is kept');
select is((select status::text from public.orders where id = (select order_id from hoard)),
  'pending', 'its order stays pending');

select pg_temp.age_reservation((select order_id from hoard), interval '31 minutes');
select is(private.expire_pending_orders(), 1, 'a reservation older than the TTL expires');
select is((select status::text from public.orders where id = (select order_id from hoard)),
  'cancelled', 'its unpaid order is cancelled');
select is(pg_temp.reserved('RS-TEST-1'), 0, 'and its stock released');
select is((select count(*)::int from private.order_reservations
    where order_id = (select order_id from hoard)), 0, 'the reservation is gone');
select is(private.expire_pending_orders(), 0, 'a second run finds nothing');
select is(pg_temp.reserved('RS-TEST-1'), 0, 'and releases nothing twice');
select lives_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000021b2',
    '[{"sku":"RS-TEST-1","quantity":300}]')$$,
  'the released units can be bought by someone else');

-- Paid orders keep their stock ---------------------------------------------------------------------

create temporary table paid on commit drop as
select * from shop_api.place_order('00000000-0000-4000-8000-0000000021a1',
  '[{"sku":"RS-TEST-2","quantity":10}]');
select pg_temp.age_reservation((select order_id from paid), interval '2 hours');
update public.orders set status = 'paid' where id = (select order_id from paid);
select is((select count(*)::int from private.order_reservations
    where order_id = (select order_id from paid)), 0, 'paying an order settles its reservation');
select is(private.expire_pending_orders(), 0, 'a paid order does not expire, however old');
select is((select status::text from public.orders where id = (select order_id from paid)), 'paid',
  'it stays paid');
select is(pg_temp.reserved('RS-TEST-2'), 10, 'and keeps its reserved stock');

-- Cancelling a pending order by hand releases its stock too.
create temporary table dropped on commit drop as
select * from shop_api.place_order('00000000-0000-4000-8000-0000000021a1',
  '[{"sku":"RS-TEST-2","quantity":7},{"sku":"RS-TEST-3","quantity":2}]');
update public.orders set status = 'cancelled' where id = (select order_id from dropped);
select results_eq($$select pg_temp.reserved('RS-TEST-2'), pg_temp.reserved('RS-TEST-3')$$,
  $$values (10, 0)$$, 'a cancelled pending order releases every line');

-- The per-customer cap -----------------------------------------------------------------------------

update private.order_limits set max_pending_orders = 3, max_pending_units = 400;
select lives_ok(
  $t$do $$
    begin
      for i in 1..3 loop
        perform shop_api.place_order('00000000-0000-4000-8000-0000000021c3',
          '[{"sku":"RS-TEST-3","quantity":1}]');
      end loop;
    end
  $$$t$,
  'a customer may hold max_pending_orders unpaid orders');
select throws_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000021c3',
    '[{"sku":"RS-TEST-3","quantity":1}]')$$,
  'CT429', 'too many pending orders', 'one more is refused');
select is(pg_temp.reserved('RS-TEST-3'), 3, 'the refused order reserved nothing');
select is((select count(*)::int from public.orders
    where customer_id = '00000000-0000-4000-8000-0000000021c3'), 3, 'nor was it written');

select pg_temp.age_reservation(r.order_id, interval '1 hour')
from private.order_reservations r where r.customer_id = '00000000-0000-4000-8000-0000000021c3';
select is(private.expire_pending_orders(), 3, 'the customer''s unpaid orders expire');
select throws_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000021c3',
    '[{"sku":"RS-TEST-3","quantity":250},{"sku":"RS-TEST-2","quantity":151}]')$$,
  'CT429', 'too many pending orders', 'an order above max_pending_units is refused');
select lives_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000021c3',
    '[{"sku":"RS-TEST-3","quantity":250},{"sku":"RS-TEST-2","quantity":150}]')$$,
  'up to max_pending_units is accepted once expired orders are released');
select throws_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000021c3',
    '[{"sku":"RS-TEST-2","quantity":1}]')$$,
  'CT429', 'too many pending orders', 'the units of every pending order count');

select * from finish();
rollback;
