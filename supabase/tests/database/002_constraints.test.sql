-- Shop constraints: every check, key and the order lifecycle reject bad rows with the right SQLSTATE.
-- Fixture ids are negative so they never meet generated demo data (identities count from 1).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(72);

insert into auth.users (id, aud, role, email, created_at, updated_at)
values ('00000000-0000-4000-8000-0000000c0001', 'authenticated', 'authenticated',
  'constraints-a@example.test', now(), now());
insert into public.customers (id, email, full_name)
values ('00000000-0000-4000-8000-0000000c0001', 'constraints-a@example.test', 'Constraint A');
insert into public.categories (id, parent_id, name, slug) overriding system value
values (-1, null, 'Test root', 'test-root-c'), (-2, -1, 'Test child', 'test-child-c');
insert into public.products (id, sku, name, description, price_cents, currency, category_id)
overriding system value
values (-1, 'TST-C-1', 'Red Lamp', 'A bright light', 1999, 'EUR', -2),
  (-2, 'TST-C-2', 'Blue Mug', '', 500, 'EUR', -2);
insert into public.inventory (product_id, on_hand, reserved) values (-1, 10, 2);
insert into public.orders (id, customer_id, status, subtotal_cents, shipping_cents, total_cents,
  item_count)
overriding system value
values (-1, '00000000-0000-4000-8000-0000000c0001', 'pending', 1999, 490, 2489, 1);
insert into public.order_items (order_id, line_no, product_id, quantity, unit_price_cents,
  line_total_cents)
values (-1, 1, -1, 1, 1999, 1999);

-- categories --------------------------------------------------------------------------------------

select throws_ok(
  $$insert into public.categories (name, slug) values ('Dup', 'test-root-c')$$,
  '23505', null, 'categories: duplicate slug is rejected');
select throws_ok(
  $$insert into public.categories (name, slug) values ('Bad', 'Not A Slug')$$,
  '23514', null, 'categories: slug must be lowercase words joined by -');
select throws_ok(
  $$insert into public.categories (name, slug) values ('  ', 'blank-name-c')$$,
  '23514', null, 'categories: blank name is rejected');
select throws_ok(
  $$insert into public.categories (name, slug, position) values ('Neg', 'neg-position-c', -1)$$,
  '23514', null, 'categories: negative position is rejected');
select throws_ok(
  $$update public.categories set parent_id = id where id = -1$$,
  '23514', null, 'categories: a category cannot be its own parent');
select throws_ok(
  $$insert into public.categories (parent_id, name, slug) values (-999, 'Orphan', 'orphan-c')$$,
  '23503', null, 'categories: parent must exist');
select throws_ok(
  $$delete from public.categories where id = -1$$,
  '23503', null, 'categories: a category with children cannot be deleted');

-- products ----------------------------------------------------------------------------------------

select throws_ok(
  $$insert into public.products (sku, name, price_cents) values ('TST-C-1', 'Dup', 1)$$,
  '23505', null, 'products: duplicate sku is rejected');
select throws_ok(
  $$insert into public.products (sku, name, price_cents) values ('tst-lower', 'Lower', 1)$$,
  '23514', null, 'products: lowercase sku is rejected');
select throws_ok(
  $$insert into public.products (sku, name, price_cents) values ('AB', 'Short', 1)$$,
  '23514', null, 'products: sku shorter than 3 is rejected');
select throws_ok(
  $$insert into public.products (sku, name, price_cents) values ('TST--X', 'Dash', 1)$$,
  '23514', null, 'products: sku with an empty group is rejected');
select throws_ok(
  $$insert into public.products (sku, name, price_cents) values ('TST-NEG', 'Neg', -1)$$,
  '23514', null, 'products: negative price is rejected');
select throws_ok(
  $$insert into public.products (sku, name, price_cents, currency) values ('TST-CUR', 'C', 1, 'eur')$$,
  '23514', null, 'products: lowercase currency is rejected');
select throws_ok(
  $$insert into public.products (sku, name, price_cents, currency) values ('TST-CUR2', 'C', 1, 'E1')$$,
  '23514', null, 'products: currency must be three letters');
select throws_ok(
  $$insert into public.products (sku, name, price_cents) values ('TST-BLANK', '', 1)$$,
  '23514', null, 'products: blank name is rejected');
select throws_ok(
  $$insert into public.products (sku, name, price_cents, category_id) values ('TST-CAT', 'C', 1, -999)$$,
  '23503', null, 'products: category must exist');
select throws_ok(
  $$insert into public.products (id, sku, name, price_cents) values (12345, 'TST-ID', 'Id', 1)$$,
  '428C9', null, 'products: ids come from the identity only');
select throws_ok(
  $$update public.products set search_vector = null where id = -1$$,
  '428C9', null, 'products: search_vector cannot be written');
select ok(
  (select search_vector @@ to_tsquery('simple', 'lamp & bright')
    from public.products where id = -1),
  'products: search_vector matches words of name and description');
select ok(
  (select ts_filter(search_vector, '{a}') @@ to_tsquery('simple', 'red & lamp & tst')
      and ts_filter(search_vector, '{b}') @@ to_tsquery('simple', 'bright & light')
      and not ts_filter(search_vector, '{b}') @@ to_tsquery('simple', 'lamp | tst')
    from public.products where id = -1),
  'products: name and sku weigh A, description B'
);
select throws_ok(
  $$delete from public.products where id = -1$$,
  '23503', null, 'products: a product on an order cannot be deleted');

-- customers ---------------------------------------------------------------------------------------

select throws_ok(
  $$insert into public.customers (id, email) values ('00000000-0000-4000-8000-0000000c0999', 'x@example.test')$$,
  '23503', null, 'customers: id must be an auth user');
select throws_ok(
  $$update public.customers set email = 'not-an-email' where id = '00000000-0000-4000-8000-0000000c0001'$$,
  '23514', null, 'customers: email must look like an address');
select throws_ok(
  $$insert into public.customers (id, email) values ('00000000-0000-4000-8000-0000000c0001', 'dup@example.test')$$,
  '23505', null, 'customers: one row per auth user');

-- orders ------------------------------------------------------------------------------------------

select throws_ok(
  $$insert into public.orders (customer_id, subtotal_cents, shipping_cents, total_cents)
    values ('00000000-0000-4000-8000-0000000c0001', 1000, 490, 1000)$$,
  '23514', null, 'orders: total must be subtotal + shipping');
select throws_ok(
  $$insert into public.orders (customer_id, subtotal_cents, shipping_cents, total_cents)
    values ('00000000-0000-4000-8000-0000000c0001', 1000, -10, 990)$$,
  '23514', null, 'orders: negative shipping is rejected');
select throws_ok(
  $$insert into public.orders (customer_id, subtotal_cents, shipping_cents, total_cents)
    values ('00000000-0000-4000-8000-0000000c0001', -5, 5, 0)$$,
  '23514', null, 'orders: negative subtotal is rejected');
select throws_ok(
  $$insert into public.orders (customer_id, item_count) values ('00000000-0000-4000-8000-0000000c0001', -1)$$,
  '23514', null, 'orders: negative item count is rejected');
select throws_ok(
  $$insert into public.orders (customer_id, currency) values ('00000000-0000-4000-8000-0000000c0001', 'xx1')$$,
  '23514', null, 'orders: currency must be an ISO code');
select throws_ok(
  $$insert into public.orders (customer_id) values ('00000000-0000-4000-8000-0000000c0999')$$,
  '23503', null, 'orders: customer must exist');
select throws_ok(
  $$insert into public.orders (customer_id, status) values ('00000000-0000-4000-8000-0000000c0001', 'lost')$$,
  '22P02', null, 'orders: unknown status is rejected');

-- order_items -------------------------------------------------------------------------------------

select throws_ok(
  $$insert into public.order_items values (-1, 2, -1, 0, 1999, 0)$$,
  '23514', null, 'order_items: quantity must be positive');
select throws_ok(
  $$insert into public.order_items values (-1, 2, -1, 1, -1, -1)$$,
  '23514', null, 'order_items: negative unit price is rejected');
select throws_ok(
  $$insert into public.order_items values (-1, 2, -1, 2, 1999, 1999)$$,
  '23514', null, 'order_items: line total must be quantity * unit price');
select throws_ok(
  $$insert into public.order_items values (-1, 0, -1, 1, 1999, 1999)$$,
  '23514', null, 'order_items: line numbers start at 1');
select throws_ok(
  $$insert into public.order_items values (-1, 1, -2, 1, 500, 500)$$,
  '23505', null, 'order_items: line numbers are unique per order');
select throws_ok(
  $$insert into public.order_items values (-999, 1, -1, 1, 1999, 1999)$$,
  '23503', null, 'order_items: order must exist');
select throws_ok(
  $$insert into public.order_items values (-1, 2, -999, 1, 1999, 1999)$$,
  '23503', null, 'order_items: product must exist');

-- inventory ---------------------------------------------------------------------------------------

select throws_ok(
  $$insert into public.inventory (product_id, on_hand) values (-2, -1)$$,
  '23514', null, 'inventory: on_hand cannot go negative');
select throws_ok(
  $$update public.inventory set reserved = -1 where product_id = -1$$,
  '23514', null, 'inventory: reserved cannot go negative');
select throws_ok(
  $$update public.inventory set reserved = 11 where product_id = -1$$,
  '23514', null, 'inventory: reserved cannot exceed on_hand');
select throws_ok(
  $$insert into public.inventory (product_id) values (-999)$$,
  '23503', null, 'inventory: product must exist');

-- stock_movements ---------------------------------------------------------------------------------

select throws_ok(
  $$insert into public.stock_movements (product_id, delta, reason) values (-1, 0, 'adjustment')$$,
  '23514', null, 'stock_movements: a zero movement is rejected');
select throws_ok(
  $$insert into public.stock_movements (product_id, delta, reason) values (-1, 1, 'gift')$$,
  '22P02', null, 'stock_movements: unknown reason is rejected');
select throws_ok(
  $$insert into public.stock_movements (product_id, delta, reason, order_id) values (-1, -1, 'sale', -999)$$,
  '23503', null, 'stock_movements: order must exist');
select lives_ok(
  $$insert into public.stock_movements (product_id, delta, reason, order_id) values (-1, -1, 'sale', -1)$$,
  'stock_movements: a sale linked to an order is accepted');

-- Order lifecycle ---------------------------------------------------------------------------------

insert into public.orders (id, customer_id, status) overriding system value
select -100 - n, '00000000-0000-4000-8000-0000000c0001', s::public.order_status
from unnest(array['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'])
  with ordinality as x(s, n);
-- ids: -101 pending, -102 paid, -103 shipped, -104 delivered, -105 cancelled, -106 refunded

select throws_ok(format('update public.orders set status = %L where id = %s', t, id),
  '23514', format('order %s cannot go from %s to %s', id, f, t),
  format('lifecycle: %s -> %s is rejected', f, t))
from (values
  (-101, 'pending', 'shipped'), (-101, 'pending', 'delivered'), (-101, 'pending', 'refunded'),
  (-102, 'paid', 'pending'), (-102, 'paid', 'delivered'),
  (-103, 'shipped', 'pending'), (-103, 'shipped', 'paid'), (-103, 'shipped', 'cancelled'),
  (-103, 'shipped', 'refunded'),
  (-104, 'delivered', 'shipped'), (-104, 'delivered', 'cancelled'),
  (-105, 'cancelled', 'pending'), (-105, 'cancelled', 'paid'),
  (-106, 'refunded', 'delivered'), (-106, 'refunded', 'paid')
) as x(id, f, t);

select lives_ok(
  $$update public.orders set status = 'paid' where id = -101;
    update public.orders set status = 'shipped' where id = -101;
    update public.orders set status = 'delivered' where id = -101;
    update public.orders set status = 'refunded' where id = -101$$,
  'lifecycle: pending -> paid -> shipped -> delivered -> refunded is accepted');
select lives_ok(
  $$update public.orders set status = 'cancelled' where id = -1$$,
  'lifecycle: pending -> cancelled is accepted');
select lives_ok(
  $$update public.orders set status = 'cancelled' where id = -102$$,
  'lifecycle: paid -> cancelled is accepted');
select lives_ok(
  $$update public.orders set status = 'shipped', total_cents = 0 where id = -103$$,
  'lifecycle: rewriting the same status is accepted');
select is(
  (select array_agg(status::text order by id desc) from public.orders where id between -106 and -101),
  array['refunded', 'cancelled', 'shipped', 'delivered', 'cancelled', 'refunded'],
  'lifecycle: only the accepted transitions changed the orders'
);
insert into public.orders (id, customer_id, status) overriding system value
values (-107, '00000000-0000-4000-8000-0000000c0001', 'paid');
select lives_ok(
  $$update public.orders set status = 'refunded' where id = -107$$,
  'lifecycle: paid -> refunded is accepted');

-- updated_at and delete behaviour -----------------------------------------------------------------

update public.products set updated_at = '2000-01-01' where id = -2;
select is(
  (select updated_at from public.products where id = -2), now(),
  'updated_at is stamped by the trigger, whatever the statement writes'
);
delete from public.categories where id = -2;
select is(
  (select category_id from public.products where id = -1), null,
  'deleting a category leaves its products uncategorised'
);
delete from auth.users where id = '00000000-0000-4000-8000-0000000c0001';
select ok(
  not exists (select 1 from public.customers where id = '00000000-0000-4000-8000-0000000c0001')
    and (select customer_id from public.orders where id = -1) is null,
  'deleting an auth user deletes the customer and keeps their orders, detached'
);
delete from public.orders where id = -1;
select is(
  (select count(*)::int from public.order_items where order_id = -1), 0,
  'deleting an order deletes its lines'
);
select is(
  (select order_id from public.stock_movements where product_id = -1 and reason = 'sale'), null,
  'deleting an order keeps its stock movements, detached'
);

select * from finish();
rollback;
