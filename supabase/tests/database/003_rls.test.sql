-- Row level security matrix: anon, customer A, customer B, admin and service_role, each with the
-- role and JWT claims PostgREST would set. Fixture ids are negative (never generated).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(57);

-- Fixtures, as the migration owner ----------------------------------------------------------------

insert into auth.users (id, aud, role, email, raw_app_meta_data, created_at, updated_at)
values
  ('00000000-0000-4000-8000-00000000000a', 'authenticated', 'authenticated', 'rls-a@example.test',
    '{"provider": "email"}', now(), now()),
  ('00000000-0000-4000-8000-00000000000b', 'authenticated', 'authenticated', 'rls-b@example.test',
    '{"provider": "email"}', now(), now()),
  ('00000000-0000-4000-8000-0000000000ad', 'authenticated', 'authenticated',
    'rls-admin@example.test', '{"provider": "email", "role": "admin"}', now(), now());
insert into public.customers (id, email, full_name)
values ('00000000-0000-4000-8000-00000000000a', 'rls-a@example.test', 'Customer A'),
  ('00000000-0000-4000-8000-00000000000b', 'rls-b@example.test', 'Customer B');
insert into public.categories (id, name, slug) overriding system value
values (-10, 'RLS root', 'rls-root');
insert into public.products (id, sku, name, price_cents, category_id, active)
overriding system value
values (-10, 'RLS-ACTIVE', 'Visible product', 1000, -10, true),
  (-11, 'RLS-INACTIVE', 'Hidden product', 2000, -10, false);
insert into public.inventory (product_id, on_hand, reserved) values (-10, 5, 0), (-11, 3, 0);
insert into public.orders (id, customer_id, status, subtotal_cents, shipping_cents, total_cents,
  item_count)
overriding system value
values (-10, '00000000-0000-4000-8000-00000000000a', 'paid', 1000, 490, 1490, 1),
  (-11, '00000000-0000-4000-8000-00000000000b', 'pending', 2000, 490, 2490, 1);
insert into public.order_items values (-10, 1, -10, 1, 1000, 1000), (-11, 1, -11, 1, 2000, 2000);
insert into public.stock_movements (id, product_id, delta, reason) overriding system value
values (-10, -10, 5, 'restock');

-- anon --------------------------------------------------------------------------------------------

select set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;

select ok(exists (select 1 from public.categories where id = -10), 'anon reads categories');
select results_eq(
  'select id from public.products where id in (-10, -11) order by id',
  array[-10::bigint], 'anon reads active products only');
select results_eq(
  'select product_id from public.inventory where product_id in (-10, -11)',
  array[-10::bigint], 'anon reads the stock of active products only');
select throws_ok('select 1 from public.customers', '42501', null, 'anon cannot read customers');
select throws_ok('select 1 from public.orders', '42501', null, 'anon cannot read orders');
select throws_ok('select 1 from public.order_items', '42501', null, 'anon cannot read order lines');
select throws_ok('select 1 from public.stock_movements', '42501', null,
  'anon cannot read stock movements');
select throws_ok($$insert into public.categories (name, slug) values ('X', 'rls-anon')$$, '42501',
  null, 'anon cannot create categories');
select throws_ok($$update public.products set price_cents = 1 where id = -10$$, '42501', null,
  'anon cannot edit products');
select throws_ok('select private.is_admin()', '42501', null,
  'anon cannot reach the private schema directly');

reset role;

-- customer A --------------------------------------------------------------------------------------

select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-00000000000a", "role": "authenticated",'
  || ' "app_metadata": {"provider": "email"}, "user_metadata": {"role": "admin"}}', true);
set local role authenticated;

select is(auth.uid(), '00000000-0000-4000-8000-00000000000a'::uuid, 'auth.uid() reads sub');
select results_eq('select id from public.customers',
  array['00000000-0000-4000-8000-00000000000a'::uuid], 'customer A reads only their own row');
select results_eq('select id from public.orders', array[-10::bigint],
  'customer A reads only their own orders');
select results_eq('select order_id, line_no from public.order_items',
  $$values (-10::bigint, 1)$$, 'customer A reads only the lines of their own orders');
select is_empty('select 1 from public.stock_movements', 'customer A reads no stock movements');
select results_eq(
  'select id from public.products where id in (-10, -11) order by id',
  array[-10::bigint],
  'customer A reads active products only (user_metadata.role = admin grants nothing)');
select results_eq(
  'select product_id from public.inventory where product_id in (-10, -11)',
  array[-10::bigint], 'customer A reads the stock of active products only');
select ok(exists (select 1 from public.categories where id = -10), 'customer A reads categories');
select throws_ok(
  $$insert into public.orders (customer_id) values ('00000000-0000-4000-8000-00000000000a')$$,
  '42501', null, 'customer A cannot insert orders directly');
select throws_ok($$update public.orders set status = 'cancelled' where id = -10$$, '42501', null,
  'customer A cannot change their orders directly');
select throws_ok($$delete from public.orders where id = -10$$, '42501', null,
  'customer A cannot delete their orders');
select throws_ok(
  $$update public.customers set full_name = 'X' where id = '00000000-0000-4000-8000-00000000000a'$$,
  '42501', null, 'customer A cannot edit the customer row directly');
select throws_ok(
  $$insert into public.products (sku, name, price_cents) values ('RLS-NEW', 'New', 1)$$,
  '42501', 'new row violates row-level security policy for table "products"',
  'customer A cannot create products');
select is_empty(
  $$update public.products set price_cents = 1 where id = -10 returning id$$,
  'customer A cannot edit products (no row passes the policy)');
select is_empty(
  $$delete from public.categories where id = -10 returning id$$,
  'customer A cannot delete categories');
select is_empty(
  $$update public.inventory set on_hand = 0 where product_id = -10 returning product_id$$,
  'customer A cannot adjust stock');
select throws_ok(
  $$insert into public.stock_movements (product_id, delta, reason) values (-10, 1, 'restock')$$,
  '42501', null, 'customer A cannot write stock movements');

reset role;

-- customer B, through the legacy request.jwt.claim.sub setting ------------------------------------

select set_config('request.jwt.claims', '', true);
select set_config('request.jwt.claim.sub', '00000000-0000-4000-8000-00000000000b', true);
set local role authenticated;

select results_eq('select id from public.customers',
  array['00000000-0000-4000-8000-00000000000b'::uuid],
  'customer B (legacy claim setting) reads only their own row');
select results_eq('select id from public.orders', array[-11::bigint],
  'customer B reads only their own orders, not A''s');
select results_eq('select order_id from public.order_items', array[-11::bigint],
  'customer B reads only the lines of their own orders');

reset role;
select set_config('request.jwt.claim.sub', '', true);

-- signed in without a customer row ----------------------------------------------------------------

select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000000ff", "role": "authenticated"}', true);
set local role authenticated;

select is_empty('select 1 from public.customers', 'a user without a customer row reads none');
select is_empty('select 1 from public.orders', 'a user without orders reads none');
select is_empty('select 1 from public.order_items', 'a user without orders reads no lines');

reset role;

-- admin -------------------------------------------------------------------------------------------

select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000000ad", "role": "authenticated",'
  || ' "app_metadata": {"provider": "email", "role": "admin"}}', true);
set local role authenticated;

select results_eq(
  $$select id from public.customers where id in ('00000000-0000-4000-8000-00000000000a',
    '00000000-0000-4000-8000-00000000000b') order by id$$,
  $$values ('00000000-0000-4000-8000-00000000000a'::uuid), ('00000000-0000-4000-8000-00000000000b')$$,
  'admin reads every customer');
select results_eq('select id from public.orders where id in (-10, -11) order by id',
  array[-11::bigint, -10], 'admin reads every order');
select results_eq(
  'select order_id from public.order_items where order_id in (-10, -11) order by order_id',
  array[-11::bigint, -10], 'admin reads every order line');
select results_eq('select id from public.stock_movements where id = -10', array[-10::bigint],
  'admin reads stock movements');
select results_eq('select id from public.products where id in (-10, -11) order by id',
  array[-11::bigint, -10], 'admin reads inactive products too');
select results_eq(
  'select product_id from public.inventory where product_id in (-10, -11) order by product_id',
  array[-11::bigint, -10], 'admin reads the stock of inactive products too');
select lives_ok(
  $$insert into public.categories (name, slug, parent_id) values ('Admin made', 'rls-admin-made', -10)$$,
  'admin creates categories');
select lives_ok(
  $$insert into public.products (sku, name, price_cents, category_id) values ('RLS-ADMIN', 'Admin made', 100, -10)$$,
  'admin creates products');
select results_eq(
  $$update public.products set price_cents = 1100, active = false where id = -10 returning price_cents$$,
  array[1100::bigint], 'admin edits products');
select lives_ok(
  $$insert into public.inventory (product_id, on_hand)
    select id, 7 from public.products where sku = 'RLS-ADMIN'$$,
  'admin creates stock rows');
select results_eq(
  $$update public.inventory set on_hand = 9 where product_id = -11 returning on_hand$$,
  array[9], 'admin adjusts stock');
select results_eq(
  $$delete from public.categories where slug = 'rls-admin-made' returning slug$$,
  array['rls-admin-made'], 'admin deletes categories');
select throws_ok(
  $$insert into public.orders (customer_id) values ('00000000-0000-4000-8000-00000000000a')$$,
  '42501', null, 'admin cannot insert orders directly (the service role places them)');
select throws_ok($$update public.orders set status = 'shipped' where id = -10$$, '42501', null,
  'admin cannot change orders directly');
select throws_ok(
  $$insert into public.stock_movements (product_id, delta, reason) values (-10, 1, 'restock')$$,
  '42501', null, 'admin cannot write the stock ledger directly');

reset role;

-- service_role ------------------------------------------------------------------------------------

select set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;

select results_eq('select id from public.orders where id in (-10, -11) order by id',
  array[-11::bigint, -10], 'service_role reads every order');
select results_eq('select id from public.stock_movements where id = -10', array[-10::bigint],
  'service_role reads stock movements');
select results_eq(
  $$select id from public.customers where id in ('00000000-0000-4000-8000-00000000000a',
    '00000000-0000-4000-8000-00000000000b') order by id$$,
  $$values ('00000000-0000-4000-8000-00000000000a'::uuid), ('00000000-0000-4000-8000-00000000000b')$$,
  'service_role reads every customer');
select lives_ok(
  $$with o as (
      insert into public.orders (customer_id, subtotal_cents, shipping_cents, total_cents, item_count)
      values ('00000000-0000-4000-8000-00000000000b', 2000, 0, 2000, 1) returning id
    )
    insert into public.order_items select o.id, 1, -11, 1, 2000, 2000 from o$$,
  'service_role places orders with their lines');
select lives_ok($$update public.orders set status = 'paid' where id = -11$$,
  'service_role moves orders along their lifecycle');
select lives_ok(
  $$insert into public.stock_movements (product_id, delta, reason, order_id) values (-11, -1, 'sale', -11)$$,
  'service_role writes the stock ledger');
select lives_ok(
  $$update public.customers set full_name = 'Customer B2' where id = '00000000-0000-4000-8000-00000000000b'$$,
  'service_role edits customers');

reset role;

-- Customer B sees the order the service role placed for them, A still does not. -------------------

select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-00000000000b", "role": "authenticated"}', true);
set local role authenticated;
select is((select count(*)::int from public.orders), 2,
  'customer B now reads two orders (fixture + placed by the service role)');
reset role;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-00000000000a", "role": "authenticated"}', true);
set local role authenticated;
select results_eq('select id from public.orders', array[-10::bigint],
  'customer A still reads only their own order');
reset role;

select * from finish();
rollback;
