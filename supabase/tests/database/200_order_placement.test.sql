-- shop_api.place_order: privileges, pricing from the catalog, stock reservation, idempotency.
-- The API calls it as its own role with the customer of the verified JWT; tests do the same.
begin;
create extension if not exists pgtap with schema extensions;
set search_path = public, extensions;
select plan(14);

insert into auth.users (id, aud, role, email)
values ('00000000-0000-4000-8000-0000000000a1', 'authenticated', 'authenticated', 'po-a@example.com');
insert into public.categories (name, slug) values ('PO tests', 'po-tests');
insert into public.products (sku, name, price_cents, currency, category_id)
values ('PO-TEST-1', 'Placement one', 1200, 'EUR', (select id from public.categories where slug = 'po-tests')),
       ('PO-TEST-2', 'Placement two', 300, 'EUR', (select id from public.categories where slug = 'po-tests'));
insert into public.inventory (product_id, on_hand, reserved)
select id, 5, 0 from public.products where sku in ('PO-TEST-1', 'PO-TEST-2');

select ok(not has_function_privilege('anon', 'shop_api.place_order(uuid, jsonb, text, text)', 'execute'),
  'anon cannot place orders directly');
select ok(not has_function_privilege('authenticated', 'shop_api.place_order(uuid, jsonb, text, text)', 'execute'),
  'nor can signed-in users: orders go through the API and its limits');
select ok(not has_table_privilege('authenticated', 'private.idempotency_keys', 'select'),
  'customers cannot read idempotency keys');

create temporary table placed on commit drop as
select * from shop_api.place_order('00000000-0000-4000-8000-0000000000a1',
  '[{"sku":"po-test-1","quantity":2},{"sku":"PO-TEST-2","quantity":1},{"sku":"PO-TEST-1","quantity":1}]',
  'po-key-1', repeat('a', 64));

select is((select replayed from placed), false, 'a new order is not a replay');
select results_eq(
  $$select subtotal_cents, shipping_cents, total_cents, item_count, status::text
    from public.orders where id = (select order_id from placed)$$,
  $$values (3900::bigint, 490::bigint, 4390::bigint, 4, 'pending')$$,
  'totals come from catalog prices, with shipping below the free threshold');
select results_eq(
  $$select line_no, quantity, unit_price_cents from public.order_items
    where order_id = (select order_id from placed) order by line_no$$,
  $$values (1, 3, 1200::bigint), (2, 1, 300::bigint)$$,
  'lines for the same product are merged in first-seen order');
select results_eq(
  $$select i.reserved from public.inventory i join public.products p on p.id = i.product_id
    where p.sku like 'PO-TEST-%' order by p.sku$$,
  $$values (3), (1)$$,
  'stock is reserved');
select is(
  (select order_id from shop_api.place_order('00000000-0000-4000-8000-0000000000a1',
    '[{"sku":"po-test-1","quantity":2},{"sku":"PO-TEST-2","quantity":1},{"sku":"PO-TEST-1","quantity":1}]',
    'po-key-1', repeat('a', 64))),
  (select order_id from placed),
  'the same key and request hash replay the same order');
select throws_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000000a1', '[{"sku":"PO-TEST-2","quantity":1}]', 'po-key-1', repeat('b', 64))$$,
  'CT409', null, 'the same key with another request is refused');
select throws_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000000a1', '[{"sku":"PO-TEST-1","quantity":3}]')$$,
  'CT410', 'not enough stock', 'more than the available stock is refused');
select throws_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000000a1', '[{"sku":"NOPE-404","quantity":1}]')$$,
  'CT404', 'unknown or unavailable products', 'unknown products are refused');
select throws_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000000a1', '[]')$$,
  '22023', null, 'an empty order is refused');
select results_eq(
  $$select i.reserved from public.inventory i join public.products p on p.id = i.product_id
    where p.sku like 'PO-TEST-%' order by p.sku$$,
  $$values (3), (1)$$,
  'refused orders reserve nothing');

select throws_ok(
  $$select * from shop_api.place_order(null, '[{"sku":"PO-TEST-2","quantity":1}]')$$,
  '42501', null, 'an order without a customer is refused');

select * from finish();
rollback;
