-- Shop schema: tables, columns, keys, constraints, indexes, triggers, RLS, grants and comments.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(105);

-- Tables and columns ------------------------------------------------------------------------------

select has_table('public', t, format('table public.%s exists', t))
from unnest(array['categories', 'products', 'customers', 'orders', 'order_items', 'inventory',
  'stock_movements']) t;

select columns_are('public', 'categories',
  array['id', 'parent_id', 'name', 'slug', 'position', 'created_at', 'updated_at']);
select columns_are('public', 'products',
  array['id', 'sku', 'name', 'description', 'price_cents', 'currency', 'category_id', 'active',
    'created_at', 'updated_at', 'search_vector']);
select columns_are('public', 'customers',
  array['id', 'email', 'full_name', 'created_at', 'updated_at']);
select columns_are('public', 'orders',
  array['id', 'customer_id', 'status', 'currency', 'subtotal_cents', 'shipping_cents',
    'total_cents', 'item_count', 'placed_at', 'updated_at']);
select columns_are('public', 'order_items',
  array['order_id', 'line_no', 'product_id', 'quantity', 'unit_price_cents', 'line_total_cents']);
select columns_are('public', 'inventory', array['product_id', 'on_hand', 'reserved', 'updated_at']);
select columns_are('public', 'stock_movements',
  array['id', 'product_id', 'delta', 'reason', 'order_id', 'created_at']);

select col_type_is('public', 'categories', 'id', 'bigint', 'categories.id is bigint');
select col_type_is('public', 'products', 'price_cents', 'bigint', 'prices are bigint minor units');
select col_type_is('public', 'products', 'currency', 'character(3)', 'currency is char(3)');
select col_type_is('public', 'products', 'search_vector', 'tsvector', 'search_vector is tsvector');
select col_type_is('public', 'customers', 'id', 'uuid', 'customers.id is a uuid');
select col_type_is('public', 'orders', 'status', 'order_status', 'orders.status is order_status');
select col_type_is('public', 'orders', 'total_cents', 'bigint', 'order totals are bigint');
select col_type_is('public', 'order_items', 'line_total_cents', 'bigint', 'line totals are bigint');
select col_type_is('public', 'inventory', 'on_hand', 'integer', 'on_hand is integer');
select col_type_is('public', 'stock_movements', 'reason', 'stock_movement_reason',
  'stock_movements.reason is stock_movement_reason');
select col_type_is('public', 'orders', 'placed_at', 'timestamp with time zone',
  'placed_at is timestamptz');

select col_not_null('public', 'products', 'sku', 'products.sku is required');
select col_not_null('public', 'orders', 'status', 'orders.status is required');
select col_is_null('public', 'orders', 'customer_id',
  'orders.customer_id is nullable (orders outlive deleted customers)');

select is(
  array(
    select c.relname::text from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    where c.relnamespace = 'public'::regnamespace and a.attname = 'id' and a.attidentity = 'a'
      and c.relname in ('categories', 'products', 'orders', 'stock_movements')
    order by 1
  ),
  array['categories', 'orders', 'products', 'stock_movements'],
  'surrogate keys are generated always as identity'
);
select is(
  (select a.attgenerated::text from pg_catalog.pg_attribute a
    where a.attrelid = 'public.products'::regclass and a.attname = 'search_vector'),
  's',
  'products.search_vector is a stored generated column'
);

select enum_has_labels('public', 'order_status',
  array['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'],
  'order_status has the lifecycle states in order');
select enum_has_labels('public', 'stock_movement_reason',
  array['restock', 'sale', 'cancellation', 'return', 'adjustment'],
  'stock_movement_reason has its labels');

-- Keys -------------------------------------------------------------------------------------------

select col_is_pk('public', 'categories', 'id', 'categories primary key');
select col_is_pk('public', 'products', 'id', 'products primary key');
select col_is_pk('public', 'customers', 'id', 'customers primary key');
select col_is_pk('public', 'orders', 'id', 'orders primary key');
select col_is_pk('public', 'order_items', array['order_id', 'line_no'], 'order_items primary key');
select col_is_pk('public', 'inventory', 'product_id', 'inventory primary key');
select col_is_pk('public', 'stock_movements', 'id', 'stock_movements primary key');

select col_is_unique('public', 'products', 'sku', 'products.sku is unique');
select col_is_unique('public', 'categories', 'slug', 'categories.slug is unique');

select fk_ok('public', 'categories', 'parent_id', 'public', 'categories', 'id');
select fk_ok('public', 'products', 'category_id', 'public', 'categories', 'id');
select fk_ok('public', 'customers', 'id', 'auth', 'users', 'id');
select fk_ok('public', 'orders', 'customer_id', 'public', 'customers', 'id');
select fk_ok('public', 'order_items', 'order_id', 'public', 'orders', 'id');
select fk_ok('public', 'order_items', 'product_id', 'public', 'products', 'id');
select fk_ok('public', 'inventory', 'product_id', 'public', 'products', 'id');
select fk_ok('public', 'stock_movements', 'product_id', 'public', 'products', 'id');
select fk_ok('public', 'stock_movements', 'order_id', 'public', 'orders', 'id');

select is(
  array(
    select format('%s:%s', conname, confdeltype) from pg_catalog.pg_constraint
    where contype = 'f' and connamespace = 'public'::regnamespace
      and conrelid::regclass::text in ('categories', 'products', 'customers', 'orders',
        'order_items', 'inventory', 'stock_movements')
    order by 1
  ),
  array['categories_parent_id_fkey:r', 'customers_id_fkey:c', 'inventory_product_id_fkey:c',
    'order_items_order_id_fkey:c', 'order_items_product_id_fkey:r', 'orders_customer_id_fkey:n',
    'products_category_id_fkey:n', 'stock_movements_order_id_fkey:n',
    'stock_movements_product_id_fkey:c'],
  'foreign keys are named and delete as designed (r restrict, c cascade, n set null)'
);

-- Check constraints, by name ----------------------------------------------------------------------

select is(
  array(
    select conname::text from pg_catalog.pg_constraint
    where contype = 'c' and conrelid = format('public.%I', t)::regclass order by 1
  ),
  c,
  format('%s has its named check constraints', t)
)
from (values
  ('categories', array['categories_name_check', 'categories_parent_id_check',
    'categories_position_check', 'categories_slug_check']),
  ('products', array['products_currency_check', 'products_description_check',
    'products_name_check', 'products_price_cents_check', 'products_sku_check']),
  ('customers', array['customers_email_check', 'customers_full_name_check']),
  ('orders', array['orders_currency_check', 'orders_item_count_check',
    'orders_shipping_cents_check', 'orders_subtotal_cents_check', 'orders_total_cents_check']),
  ('order_items', array['order_items_line_no_check', 'order_items_line_total_cents_check',
    'order_items_quantity_check', 'order_items_unit_price_cents_check']),
  ('inventory', array['inventory_on_hand_check', 'inventory_reserved_check',
    'inventory_reserved_on_hand_check']),
  ('stock_movements', array['stock_movements_delta_check'])
) as x(t, c);

-- Indexes: keys and foreign keys only -------------------------------------------------------------

select has_index('public', 'categories', 'categories_parent_id_idx', array['parent_id']);
select has_index('public', 'products', 'products_category_id_idx', array['category_id']);
select has_index('public', 'orders', 'orders_customer_id_idx', array['customer_id']);
select has_index('public', 'order_items', 'order_items_product_id_idx', array['product_id']);
select has_index('public', 'stock_movements', 'stock_movements_product_id_idx',
  array['product_id']);
select has_index('public', 'stock_movements', 'stock_movements_order_id_idx', array['order_id']);

-- Triggers and helper functions -------------------------------------------------------------------

select has_trigger('public', t, t || '_set_updated_at', format('%s stamps updated_at', t))
from unnest(array['categories', 'products', 'customers', 'orders', 'inventory']) t;
select has_trigger('public', 'orders', 'orders_check_status_transition',
  'orders enforce the status lifecycle');

select has_function('private', 'is_admin', array[]::text[], 'private.is_admin() exists');
select is_definer('private', 'is_admin', array[]::text[], 'private.is_admin() is security definer');
select volatility_is('private', 'is_admin', array[]::text[], 'stable',
  'private.is_admin() is stable');
select is(
  (select p.proconfig from pg_catalog.pg_proc p
    where p.oid = 'private.is_admin()'::regprocedure),
  array['search_path=""'],
  'private.is_admin() pins an empty search_path'
);
select is_empty(
  $$select p.oid::regprocedure from pg_catalog.pg_proc p
    where p.pronamespace in ('private'::regnamespace, 'demo'::regnamespace)
      and p.prosecdef
      and not coalesce(p.proconfig @> array['search_path=""'], false)$$,
  'every security definer function in private and demo pins search_path'
);

-- Row level security ---------------------------------------------------------------------------

select is_empty(
  $$select c.relname from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and not c.relrowsecurity$$,
  'RLS is enabled on every table in public'
);

select policies_are('public', 'categories', array['categories_select', 'categories_insert_admin',
  'categories_update_admin', 'categories_delete_admin']);
select policies_are('public', 'products', array['products_select', 'products_insert_admin',
  'products_update_admin', 'products_delete_admin']);
select policies_are('public', 'inventory', array['inventory_select', 'inventory_insert_admin',
  'inventory_update_admin', 'inventory_delete_admin']);
select policies_are('public', 'customers', array['customers_select']);
select policies_are('public', 'orders', array['orders_select']);
select policies_are('public', 'order_items', array['order_items_select']);
select policies_are('public', 'stock_movements', array['stock_movements_select_admin']);

-- Grants: exactly what the policies need ----------------------------------------------------------

select table_privs_are('public', t, 'anon', array['SELECT'], format('anon may only read %s', t))
from unnest(array['categories', 'products', 'inventory']) t;
select table_privs_are('public', t, 'anon', array[]::text[], format('anon has no access to %s', t))
from unnest(array['customers', 'orders', 'order_items', 'stock_movements']) t;
select table_privs_are('public', t, 'authenticated', array['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  format('authenticated may write %s (admins only, by policy)', t))
from unnest(array['categories', 'products', 'inventory']) t;
select table_privs_are('public', t, 'authenticated', array['SELECT'],
  format('authenticated may only read %s', t))
from unnest(array['customers', 'orders', 'order_items', 'stock_movements']) t;
select ok(
  (select bool_and(has_table_privilege('service_role', format('public.%I', t), p))
    from unnest(array['categories', 'products', 'customers', 'orders', 'order_items', 'inventory',
      'stock_movements']) t
    cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p),
  'service_role has full access to every shop table'
);
select is_empty(
  $$select r.rolname, p.oid::regprocedure
    from pg_catalog.pg_proc p
    cross join pg_catalog.pg_roles r
    where p.pronamespace = 'demo'::regnamespace
      and r.rolname in ('anon', 'authenticated', 'service_role')
      and has_function_privilege(r.oid, p.oid, 'execute')$$,
  'no API role may run the demo generator'
);
select ok(
  not has_schema_privilege('anon', 'demo', 'usage')
    and not has_schema_privilege('authenticated', 'demo', 'usage')
    and not has_schema_privilege('service_role', 'demo', 'usage'),
  'no API role may use the demo schema'
);

-- Comments --------------------------------------------------------------------------------------

select is_empty(
  $$select c.relname from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
      and c.relname in ('categories', 'products', 'customers', 'orders', 'order_items',
        'inventory', 'stock_movements')
      and obj_description(c.oid, 'pg_class') is null$$,
  'every shop table has a comment'
);
select is_empty(
  $$select c.relname, a.attname from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    where c.relnamespace = 'public'::regnamespace
      and c.relname in ('categories', 'products', 'customers', 'orders', 'order_items',
        'inventory', 'stock_movements')
      and a.attnum > 0 and not a.attisdropped
      and col_description(c.oid, a.attnum) is null$$,
  'every shop column has a comment'
);
select is_empty(
  $$select p.oid::regprocedure from pg_catalog.pg_proc p
    where (
        p.oid in ('private.is_admin()'::regprocedure, 'private.set_updated_at()'::regprocedure,
          'private.check_order_status_transition()'::regprocedure)
        or p.pronamespace = 'demo'::regnamespace
      )
      and obj_description(p.oid, 'pg_proc') is null$$,
  'the shop and generator functions have comments'
);
select is_empty(
  $$select pol.polname from pg_catalog.pg_policy pol
    join pg_catalog.pg_class c on c.oid = pol.polrelid
    where c.relnamespace = 'public'::regnamespace
      and c.relname in ('categories', 'products', 'customers', 'orders', 'order_items',
        'inventory', 'stock_movements')
      and obj_description(pol.oid, 'pg_policy') is null$$,
  'every shop policy has a comment'
);
select isnt(obj_description('public.order_status'::regtype, 'pg_type'), null,
  'order_status has a comment');

select * from finish();
rollback;
