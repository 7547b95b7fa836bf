-- The audit trail: every tracked table records its changes in the transaction of the change (and
-- none when it rolls back), with the right who / role / request id; nobody can edit or delete the
-- trail; a superuser's edit is named by audit.verify(); partitions roll and retention keeps
-- verification working; customers read only their own orders' history.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(72);

insert into auth.users (id, aud, role, email, raw_user_meta_data) values
  ('00000000-0000-4000-8000-0000000036a1', 'authenticated', 'authenticated', 'au-a@example.com',
    '{"full_name": "Ada Audit"}'),
  ('00000000-0000-4000-8000-0000000036b2', 'authenticated', 'authenticated', 'au-b@example.com',
    '{}'),
  ('00000000-0000-4000-8000-0000000036ad', 'authenticated', 'authenticated', 'au-admin@example.com',
    '{}');

-- Claims as the API sets them (request.jwt.claims and comptoir.request_id, transaction-local).
create function pg_temp.claims(p_claims jsonb, p_request_id text) returns void language sql as $$
  select set_config('request.jwt.claims', p_claims::text, true),
         set_config('comptoir.request_id', p_request_id, true)
$$;
create function pg_temp.customer(p_id text) returns jsonb language sql as $$
  select jsonb_build_object('sub', p_id, 'role', 'authenticated', 'aud', 'authenticated')
$$;
create function pg_temp.admin() returns jsonb language sql as $$
  select jsonb_build_object('sub', '00000000-0000-4000-8000-0000000036ad', 'role', 'authenticated',
    'app_metadata', jsonb_build_object('role', 'admin'))
$$;
-- Audit rows of this transaction.
create function pg_temp.mine(p_table text, p_op text) returns bigint language sql as $$
  select count(*) from audit.record_version
  where txid = pg_current_xact_id() and table_name = p_table and op = p_op
$$;
create function pg_temp.last(p_table text, p_op text) returns audit.record_version
language sql as $$
  select r from audit.record_version r
  where txid = pg_current_xact_id() and table_name = p_table and op = p_op
  order by id desc limit 1
$$;

-- Tracking -----------------------------------------------------------------------------------------

select results_eq(
  $$select table_name from audit.tracked_tables where table_schema = 'public' order by 1$$,
  $$values ('categories'::text), ('customers'), ('inventory'), ('order_items'), ('orders'),
    ('products'), ('stock_movements')$$,
  'the business tables are tracked');
select is(
  (select count(*)::integer from pg_trigger t join audit.tracked_tables a on a.relid = t.tgrelid
   where t.tgname in ('audit_insert', 'audit_update', 'audit_delete', 'audit_truncate')),
  28, 'each tracked table has its insert, update, delete and truncate triggers');

-- Each tracked table, in the transaction of the change ------------------------------------------

select pg_temp.claims(pg_temp.admin(), 'req-admin-1');
set local role authenticated;
insert into public.categories (name, slug) values ('Audit tests', 'audit-tests');
insert into public.products (sku, name, price_cents, category_id)
select 'AU-TEST-1', 'Audit test product', 1250, id from public.categories where slug = 'audit-tests';
insert into public.inventory (product_id, on_hand)
select id, 100 from public.products where sku = 'AU-TEST-1';
update public.products set price_cents = 1490 where sku = 'AU-TEST-1';
reset role;

select is(pg_temp.mine('categories', 'INSERT'), 1::bigint, 'categories: an insert is recorded');
select is(pg_temp.mine('products', 'INSERT'), 1::bigint, 'products: an insert is recorded');
select is(pg_temp.mine('inventory', 'INSERT'), 1::bigint, 'inventory: an insert is recorded');
select is(pg_temp.mine('products', 'UPDATE'), 1::bigint, 'products: an update is recorded');

select is(
  (select (r.old_record ->> 'price_cents') || ' -> ' || (r.record ->> 'price_cents')
   from pg_temp.last('products', 'UPDATE') r),
  '1250 -> 1490', 'a price change keeps the old and the new price');
select ok(
  (select not (r.record ? 'search_vector') from pg_temp.last('products', 'UPDATE') r),
  'excluded columns (the derived search vector) are left out');
select is(
  (select r.record_id from pg_temp.last('products', 'UPDATE') r),
  audit.record_id('public.products',
    jsonb_build_array((select id from public.products where sku = 'AU-TEST-1'))),
  'record_id is derived from the table and the primary key');
select is(
  (select r.record_id from pg_temp.last('products', 'UPDATE') r),
  (select r.record_id from pg_temp.last('products', 'INSERT') r),
  'the record_id of a row stays the same across its changes');
select results_eq(
  $$select auth_uid::text, auth_role, db_role, request_id from pg_temp.last('products', 'UPDATE')$$,
  $$values ('00000000-0000-4000-8000-0000000036ad'::text, 'authenticated'::text,
    'authenticated'::text, 'req-admin-1'::text)$$,
  'admin: the uid and role of the JWT, the database role and the request id are recorded');

-- A customer places an order the way the API does: the connection's role, the customer's claims.
select pg_temp.claims(pg_temp.customer('00000000-0000-4000-8000-0000000036a1'), 'req-cust-1');
create temporary table placed on commit drop as
select * from shop_api.place_order('00000000-0000-4000-8000-0000000036a1',
  '[{"sku": "AU-TEST-1", "quantity": 2}]');
grant select on placed to service_role, authenticated;
select is(pg_temp.mine('orders', 'INSERT'), 1::bigint, 'orders: an insert is recorded');
select is(pg_temp.mine('order_items', 'INSERT'), 1::bigint, 'order_items: an insert is recorded');
select is(pg_temp.mine('customers', 'INSERT'), 1::bigint, 'customers: an insert is recorded');
select is(pg_temp.mine('inventory', 'UPDATE'), 1::bigint,
  'inventory: the reservation of the order is recorded');
select results_eq(
  $$select auth_uid::text, auth_role, db_role, request_id from pg_temp.last('orders', 'INSERT')$$,
  $$values ('00000000-0000-4000-8000-0000000036a1'::text, 'authenticated'::text,
    current_user::text collate "default", 'req-cust-1'::text)$$,
  'customer: their uid and role, the connection''s database role, the request id');
select ok(
  (select r.record ->> 'email' like 'sha256:%' and r.record ->> 'full_name' like 'sha256:%'
     and r.record::text not like '%au-a@example.com%' and r.record::text not like '%Ada Audit%'
   from pg_temp.last('customers', 'INSERT') r),
  'customers: email and name are hashed, never stored');
select is(
  (select r.record ->> 'email' from pg_temp.last('customers', 'INSERT') r),
  audit.mask('au-a@example.com'), 'a hashed value is comparable with audit.mask()');

-- The service role fulfils the order.
select pg_temp.claims('{"role": "service_role"}', 'req-svc-1');
set local role service_role;
update public.orders set status = 'paid' where id = (select order_id from placed);
insert into public.stock_movements (product_id, delta, reason, order_id)
select id, -2, 'sale', (select order_id from placed) from public.products where sku = 'AU-TEST-1';
reset role;
select is(pg_temp.mine('stock_movements', 'INSERT'), 1::bigint,
  'stock_movements: an insert is recorded');
select results_eq(
  $$select auth_uid, auth_role, db_role, request_id from pg_temp.last('orders', 'UPDATE')$$,
  $$values (null::uuid, 'service_role'::text, 'service_role'::text, 'req-svc-1'::text)$$,
  'service role: no uid, its role twice, the request id');
select is(
  (select (r.old_record ->> 'status') || ' -> ' || (r.record ->> 'status')
   from pg_temp.last('orders', 'UPDATE') r),
  'pending -> paid', 'an order''s status change is recorded with both states');

-- An anonymous caller: the API's connection role, anon claims.
select pg_temp.claims('{"role": "anon"}', 'req-anon-1');
update public.inventory set on_hand = on_hand + 1
where product_id = (select id from public.products where sku = 'AU-TEST-1');
select results_eq(
  $$select auth_uid, auth_role, db_role, request_id from pg_temp.last('inventory', 'UPDATE')$$,
  $$values (null::uuid, 'anon'::text, current_user::text collate "default", 'req-anon-1'::text)$$,
  'anon: no uid, the anon role, the connection''s database role, the request id');

-- No claims and no request id at all (a maintenance script in psql).
select set_config('request.jwt.claims', '', true), set_config('comptoir.request_id', '', true);
update public.categories set position = 3 where slug = 'audit-tests';
select results_eq(
  $$select auth_uid, auth_role, db_role, request_id from pg_temp.last('categories', 'UPDATE')$$,
  $$values (null::uuid, null::text, current_user::text collate "default", null::text)$$,
  'without claims only the database role is known');

-- Who reads what ---------------------------------------------------------------------------------

create function pg_temp.visible_history(p_order bigint) returns bigint language sql as $$
  select count(*) from audit.record_version
  where table_name in ('orders', 'order_items')
    and coalesce(record, old_record) ->> (case when table_name = 'orders' then 'id' else 'order_id' end)
      = p_order::text
$$;
grant execute on function pg_temp.visible_history(bigint) to authenticated;
select pg_temp.claims(pg_temp.customer('00000000-0000-4000-8000-0000000036a1'), 'req-read-1');
set local role authenticated;
select is(pg_temp.visible_history((select order_id from placed)), 3::bigint,
  'a customer reads the history of their own order and its lines');
select is((select count(*) from audit.record_version where table_name = 'products'), 0::bigint,
  'but nothing else of the trail');
reset role;
select pg_temp.claims(pg_temp.customer('00000000-0000-4000-8000-0000000036b2'), 'req-read-2');
set local role authenticated;
select is(pg_temp.visible_history((select order_id from placed)), 0::bigint,
  'another customer cannot read it');
reset role;
select pg_temp.claims(pg_temp.admin(), 'req-read-3');
set local role authenticated;
select ok((select count(*) from audit.record_version where txid = pg_current_xact_id()) >= 10,
  'an admin reads everything');
reset role;

-- Lines deleted with their order, then a delete and a truncate.
select pg_temp.claims(pg_temp.admin(), 'req-admin-2');
delete from public.stock_movements where order_id = (select order_id from placed);
delete from public.orders where id = (select order_id from placed);
select is(pg_temp.mine('orders', 'DELETE'), 1::bigint, 'orders: a delete is recorded');
select is(pg_temp.mine('order_items', 'DELETE'), 1::bigint,
  'order_items: lines deleted by the cascade are recorded');
select is(pg_temp.mine('stock_movements', 'DELETE'), 1::bigint,
  'stock_movements: a delete is recorded');
select is(
  (select r.old_record ->> 'quantity' from pg_temp.last('order_items', 'DELETE') r), '2',
  'a delete keeps the old row');
savepoint before_truncate;
create temporary table kept_movements on commit drop as select * from public.stock_movements;
truncate public.stock_movements;
select is(pg_temp.mine('stock_movements', 'TRUNCATE'), 1::bigint,
  'stock_movements: a truncate is recorded');
rollback to savepoint before_truncate;

-- Rolled back: nothing left --------------------------------------------------------------------

create temporary table before_rollback on commit drop as
select count(*) as n from audit.record_version where txid = pg_current_xact_id();
savepoint doomed;
insert into public.categories (name, slug) values ('Rolled back', 'audit-rolled-back');
update public.products set price_cents = 1 where sku = 'AU-TEST-1';
select ok((select count(*) from audit.record_version where txid = pg_current_xact_id())
  > (select n from before_rollback), 'changes are recorded as they happen');
rollback to savepoint doomed;
select is((select count(*) from audit.record_version where txid = pg_current_xact_id()),
  (select n from before_rollback), 'a rolled-back change leaves no audit row');
select is((select count(*) from audit.record_version where record ->> 'slug' = 'audit-rolled-back'),
  0::bigint, 'not even for the row that was inserted');

-- A failing statement rolls back with its audit rows too.
select throws_ok(
  $$update public.products set price_cents = -1 where sku = 'AU-TEST-1'$$,
  '23514', null, 'a refused change is not audited either (the statement fails)');
select is(
  (select count(*) from audit.record_version
   where txid = pg_current_xact_id() and table_name = 'products'
     and record ->> 'price_cents' = '-1'), 0::bigint, 'no record of the refused change');

-- Application events -------------------------------------------------------------------------

select pg_temp.claims(pg_temp.admin(), 'req-admin-3');
create temporary table event on commit drop as
select audit.log_event('dashboard.read', 'sales', '{"params": {"days": 7}}') as id;
select results_eq(
  $$select op, action, target, details ->> 'params', auth_uid::text, request_id
    from audit.record_version where id = (select id from event)$$,
  $$values ('EVENT'::text, 'dashboard.read'::text, 'sales'::text, '{"days": 7}'::text,
    '00000000-0000-4000-8000-0000000036ad'::text, 'req-admin-3'::text)$$,
  'log_event records the action, target, details, actor and request in this transaction');
select throws_ok($$select audit.log_event('Not An Action', 'x', '{}')$$, '22023', null,
  'an action must be dotted lowercase words');
select throws_ok($$select audit.log_event('dashboard.read', 'x', '[1]')$$, '22023', null,
  'details must be an object');
select throws_ok(
  $$select audit.log_event('dashboard.read', repeat('x', 501), '{}')$$, '22023', null,
  'a target is at most 500 characters');

-- Append-only, for every role -------------------------------------------------------------------

select throws_ok($$update audit.record_version set target = 'x' where id = (select id from event)$$,
  '42501', null, 'the owner (and superuser) cannot update an audit row');
select throws_ok($$delete from audit.record_version where id = (select id from event)$$,
  '42501', null, 'the owner (and superuser) cannot delete an audit row');
select throws_ok($$truncate audit.record_version$$, '42501', null,
  'nor truncate the trail');
select throws_ok(
  format('truncate audit.%I', 'record_version_' || to_char(now() at time zone 'UTC', '"y"YYYY"m"MM')),
  '42501', null, 'nor truncate one of its partitions');
set local role service_role;
select throws_ok($$update audit.record_version set target = 'x'$$, '42501', null,
  'the service role cannot update audit rows');
select throws_ok($$delete from audit.record_version$$, '42501', null,
  'the service role cannot delete audit rows');
select throws_ok($$delete from audit.seal$$, '42501', null,
  'the service role cannot delete seals');
reset role;
select pg_temp.claims(pg_temp.admin(), 'req-admin-4');
set local role authenticated;
select throws_ok($$update audit.record_version set target = 'x'$$, '42501', null,
  'an admin cannot update audit rows');
select throws_ok($$delete from audit.record_version$$, '42501', null,
  'an admin cannot delete audit rows');
select throws_ok($$select audit.log_event('dashboard.read', 'forged', '{}')$$, '42501', null,
  'a signed-in user cannot write events directly');
reset role;
set local role anon;
select throws_ok($$select count(*) from audit.record_version$$, '42501', null,
  'anon cannot read the trail at all');
reset role;

-- Tamper evidence -------------------------------------------------------------------------------

select ok(audit.seal() > 0, 'the sealer chains the rows of ended transactions and of this one');
select is_empty($$select * from audit.verify(now(), 'infinity')$$,
  'the chain of this transaction''s rows verifies');
select is(audit.seal(), 0, 'sealing again finds nothing new');
create temporary table original on commit drop as
select id, record from pg_temp.last('products', 'UPDATE');
set local session_replication_role = replica;
update audit.record_version set record = jsonb_set(record, '{price_cents}', '1')
where id = (select id from original);
set local session_replication_role = origin;
select results_eq(
  $$select id, problem from audit.verify(now(), 'infinity')$$,
  $$select (pg_temp.last('products', 'UPDATE')).id, 'hash mismatch'::text$$,
  'a superuser''s edit of one row makes verify name that row');
select ok(not audit.run_verification(false), 'the scheduled verification reports the break');
select results_eq(
  $$select value from metrics.samples where name = 'comptoir_audit_chain_intact'$$,
  $$values (0::double precision)$$, 'and exports comptoir_audit_chain_intact 0');
select ok(not audit.run_verification(false), 'it keeps reporting it at the next run');
select lives_ok(
  $$select audit.accept_break((select (problem ->> 'seq')::bigint from audit.verification),
    'pgTAP: edited on purpose')$$,
  'an investigated break can be accepted');
select ok(audit.run_verification(false), 'verification then continues past it');
select is(
  (select count(*) from audit.record_version
   where txid = pg_current_xact_id() and action = 'audit.break_accepted'), 1::bigint,
  'accepting a break is itself recorded');
-- Restored from a backup: the chain verifies again.
set local session_replication_role = replica;
update audit.record_version r set record = o.record from original o where r.id = o.id;
set local session_replication_role = origin;
select is_empty($$select * from audit.verify(now(), 'infinity')$$,
  'once the row is restored the chain verifies again');

-- Partitions and retention ---------------------------------------------------------------------

select ok(
  (select bool_and(to_regclass(format('audit.record_version_%s',
     to_char(now() at time zone 'UTC' + make_interval(months => i), '"y"YYYY"m"MM'))) is not null)
   from generate_series(0, 3) i),
  'partitions exist for this month and the three after it');
select is(
  (select count(*)::integer from pg_catalog.pg_class c join pg_catalog.pg_namespace n
     on n.oid = c.relnamespace
   where n.nspname = 'audit' and c.relname = 'record_version_'
     || to_char(now() at time zone 'UTC' + interval '4 months', '"y"YYYY"m"MM')),
  0, 'not further');
update audit.settings set months_ahead = 4;
select ok(audit.create_partitions() >= 1, 'a longer horizon creates the missing months');
create temporary table logged on commit drop as
select audit.log_event('dashboard.read', 'partition', '{}') as id;
select is(
  (select tableoid::regclass::text from audit.record_version where id = (select id from logged)),
  'audit.record_version_' || to_char(now() at time zone 'UTC', '"y"YYYY"m"MM'),
  'rows land in the partition of their month');

-- A month older than the retention, with rows sealed into the chain.
select audit.create_partition((now() at time zone 'UTC' - interval '14 months')::date);
insert into audit.record_version (ts, op, action, target, db_role)
select now() - interval '14 months', 'EVENT', 'dashboard.read', 'old-' || g, current_user
from generate_series(1, 3) g;
select ok(audit.seal() >= 3, 'the old rows are sealed');
select is_empty($$select * from audit.verify()$$, 'the whole chain verifies before retention');
select ok(audit.apply_retention() >= 1, 'retention drops the month past the retention');
select is(to_regclass('audit.record_version_'
  || to_char(now() at time zone 'UTC' - interval '14 months', '"y"YYYY"m"MM')), null,
  'its partition is gone');
select is_empty($$select * from audit.verify()$$,
  'the chain still verifies from the anchors retention kept');

select * from finish();
rollback;
