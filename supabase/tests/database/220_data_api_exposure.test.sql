-- What the Data API can reach: functions that carry a limit of the API (the order rate limit, the
-- 100-id inventory lookup) live in shop_api, which anon and authenticated cannot use; nothing they
-- can call in an exposed schema writes; the inventory lookups cap their arrays in SQL.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(20);

-- shop_api is out of reach of the API roles --------------------------------------------------------

select has_schema('shop_api', 'the shop_api schema exists');
select results_eq(
  $$select r.role, has_schema_privilege(r.role, 'shop_api', 'usage')
    from unnest(array['anon', 'authenticated', 'service_role']) r(role) order by 1$$,
  $$values ('anon'::text, false), ('authenticated', false), ('service_role', true)$$,
  'only the service role (and the owner the functions connect as) may use shop_api');
select is(
  array(select a.grantee::regrole::text from pg_catalog.pg_namespace n, aclexplode(n.nspacl) a
    where n.nspname = 'shop_api' and a.grantee = 0),
  '{}'::text[], 'PUBLIC has no privilege on shop_api');

create temporary table moved (signature text) on commit drop;
insert into moved values
  ('shop_api.place_order(uuid,jsonb,text,text)'),
  ('shop_api.inventory_levels_cached(bigint[],text[])');
select set_eq(
  $$select m.signature, r.role from moved m, unnest(array['anon', 'authenticated', 'service_role']) r(role)
    where has_function_privilege(r.role, m.signature, 'execute')$$,
  $$select m.signature, 'service_role' from moved m$$,
  'the moved functions are executable by the service role only');
select is(
  array(select m.signature from moved m join pg_catalog.pg_proc p on p.oid = m.signature::regprocedure
    where p.proacl is null or exists (select 1 from aclexplode(p.proacl) a where a.grantee = 0)),
  '{}'::text[], 'none is executable by PUBLIC');
select is(to_regprocedure('public.place_order(jsonb,text,text)'), null,
  'place_order is gone from public');
select is(to_regprocedure('public.inventory_levels_cached(bigint[],text[])'), null,
  'inventory_levels_cached is gone from public');

-- Nothing the API roles can call in an exposed schema writes ---------------------------------------
-- A stable or immutable function cannot write (plpgsql and sql refuse INSERT/UPDATE/DELETE there),
-- so a volatile one is the only kind that could fill a table or skip a limit of the API's writes.

select is(
  array(select p.oid::regprocedure::text from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'graphql_public') and p.provolatile = 'v'
      and p.prokind = 'f'
      and (has_function_privilege('anon', p.oid, 'execute')
        or has_function_privilege('authenticated', p.oid, 'execute'))
      and not exists (select 1 from pg_catalog.pg_depend d
        where d.objid = p.oid and d.deptype = 'e')
    order by 1),
  '{}'::text[], 'no volatile function of public is executable by anon or authenticated');
select is(
  array(select c.oid::regclass::text from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and not c.relrowsecurity
      and (has_table_privilege('anon', c.oid, 'select,insert,update,delete')
        or has_table_privilege('authenticated', c.oid, 'select,insert,update,delete'))
    order by 1),
  '{}'::text[], 'every public table the API roles can touch has row level security');
select is(
  array(select c.oid::regclass::text || ':' || x.p from pg_catalog.pg_class c,
      unnest(array['insert', 'update', 'delete', 'truncate']) x(p)
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and has_table_privilege('anon', c.oid, x.p)
    order by 1),
  '{}'::text[], 'anon cannot write any public table');

-- Called the way PostgREST would -------------------------------------------------------------------

insert into auth.users (id, aud, role, email)
values ('00000000-0000-4000-8000-0000000022a1', 'authenticated', 'authenticated', 'dx@example.com');
insert into public.categories (name, slug) values ('DX tests', 'dx-tests');
insert into public.products (sku, name, price_cents, category_id)
values ('DX-TEST-1', 'Exposure', 100, (select id from public.categories where slug = 'dx-tests'));
insert into public.inventory (product_id, on_hand)
select id, 10 from public.products where sku = 'DX-TEST-1';

select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000022a1", "role": "authenticated"}', true);
set local role authenticated;
select throws_ok(
  $$select * from shop_api.place_order('00000000-0000-4000-8000-0000000022a1',
    '[{"sku":"DX-TEST-1","quantity":1}]')$$,
  '42501', null, 'a customer cannot call place_order directly');
select throws_ok(
  $$select * from shop_api.inventory_levels_cached(array[1])$$,
  '42501', null, 'nor the cached inventory');
reset role;
select set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;
select throws_ok($$select * from shop_api.inventory_levels_cached(array[1])$$, '42501', null,
  'anon cannot call the cached inventory');
reset role;
select is((select count(*)::int from public.orders o join public.customers c on c.id = o.customer_id
    where c.email = 'dx@example.com'), 0, 'no order was written by those calls');

-- The 100-id cap, in SQL ----------------------------------------------------------------------------

create temporary table cache_before on commit drop as
select count(*) as n from private.cache_entries;
select throws_ok(
  $$select * from shop_api.inventory_levels_cached(array(select -g from generate_series(1000001, 1000101) g))$$,
  '22023', 'at most 100 product ids and 100 SKUs', '101 product ids are refused');
select is((select count(*) from private.cache_entries), (select n from cache_before),
  'and write no cache entry');
select throws_ok(
  $$select * from shop_api.inventory_levels_cached(null, array(select 'DX-' || g from generate_series(1, 101) g))$$,
  '22023', 'at most 100 product ids and 100 SKUs', '101 SKUs are refused');
select lives_ok(
  $$select * from shop_api.inventory_levels_cached(array(select -g from generate_series(1000001, 1000100) g),
    array(select 'DX-' || g from generate_series(1, 100) g))$$,
  '100 ids and 100 SKUs are accepted');
select set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;
select throws_ok(
  $$select * from public.inventory_levels(array(select g::bigint from generate_series(1, 101) g))$$,
  '22023', 'at most 100 product ids and 100 SKUs', 'the live inventory caps its arrays as well');
select is((select available from public.inventory_levels(null, array['DX-TEST-1'])), 10,
  'and still answers anon within the cap');
reset role;

select * from finish();
rollback;
