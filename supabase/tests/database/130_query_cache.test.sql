-- The UNLOGGED cache: TTL, LRU eviction under the entry and byte budgets, prefix deletes, counters,
-- concurrent writers of one key, and inventory_levels_cached kept exact by invalidation in the
-- writing transaction, including a reader racing a stock change (two more sessions via dblink,
-- with the password pg_prove's psql got in PGPASSWORD).
\set pgpassword ''
\getenv pgpassword PGPASSWORD
begin;
create extension if not exists pgtap with schema extensions;
create extension if not exists dblink with schema extensions;
set local search_path = public, extensions;

select plan(52);

create temporary table conn as
  select format('host=%s port=%s dbname=%s user=%s password=%s',
    coalesce(host(inet_server_addr()), 'localhost'), current_setting('port'), current_database(),
    current_user, :'pgpassword') as s;
select dblink_connect('a', (select s from conn));
-- Waits up to 10 s for another session running a statement like p_pattern to wait on a lock.
create function pg_temp.waits_on_lock(p_pattern text) returns boolean language plpgsql as $$
begin
  for i in 1..200 loop
    -- Activity is a per-transaction snapshot: drop it to see the other sessions now.
    perform pg_stat_clear_snapshot();
    if exists (select 1 from pg_catalog.pg_stat_activity
        where pid <> pg_backend_pid() and query like p_pattern and wait_event_type = 'Lock') then
      return true;
    end if;
    perform pg_sleep(0.05);
  end loop;
  return false;
end
$$;
select dblink_connect('b', (select s from conn));

-- Storage --------------------------------------------------------------------------------------------

select is((select relpersistence::text from pg_catalog.pg_class
    where oid = 'private.cache_entries'::regclass), 'u', 'cache entries live in an UNLOGGED table');
select is(
  (select array_agg(c.relname::text || ':' || c.relpersistence::text order by c.relname)
    from pg_catalog.pg_class c
    where c.relkind = 'S' and c.relnamespace = 'private'::regnamespace and c.relname like 'cache_%'),
  array['cache_evictions:u', 'cache_expirations:u', 'cache_hits:u', 'cache_misses:u',
    'cache_sets:u', 'cache_versions:u'],
  'counters are UNLOGGED sequences (no row written per hit)');

-- Get, set, TTL --------------------------------------------------------------------------------------

create temporary table stats0 as select * from private.cache_stats();
select private.cache_set('t:obj', '{"a": [1, 2], "b": "x"}', 60);
select private.cache_set('t:num', '42', null);
select is(private.cache_get('t:obj'), '{"a": [1, 2], "b": "x"}'::jsonb, 'a JSON object round-trips');
select is(private.cache_get('t:num'), '42'::jsonb, 'so does a JSON number');
select is(private.cache_get('t:none'), null, 'an absent key is a miss (null)');
select is((select expires_at from private.cache_entries where key = 't:num'), 'infinity'::timestamptz,
  'without a TTL an entry never expires (LRU still evicts it)');
select results_eq(
  $$select s.hits - s0.hits, s.misses - s0.misses, s.sets - s0.sets
    from private.cache_stats() s, stats0 s0$$,
  $$values (2::bigint, 1::bigint, 2::bigint)$$, 'hits, misses and sets are counted');
select private.cache_set('t:obj', '"replaced"', 60);
select results_eq($$select value, count(*) over () from private.cache_entries where key = 't:obj'$$,
  $$values ('"replaced"'::jsonb, 1::bigint)$$, 'setting a key again replaces its value');
select is((select bytes from private.cache_entries where key = 't:obj'),
  octet_length('t:obj') + pg_column_size('"replaced"'::jsonb), 'size accounts key and value bytes');

select private.cache_set('t:short', '"soon gone"', 1);
select is(private.cache_get('t:short'), '"soon gone"'::jsonb, 'a fresh entry is served');
select pg_sleep(1.1);
select is(private.cache_get('t:short'), null, 'after its TTL the entry is a miss');

select throws_ok($$select private.cache_set('t:x', null, 60)$$, '22004', null,
  'a value cannot be null');
select throws_ok($$select private.cache_set('t:x', '1', 0)$$, '22023', null,
  'a TTL must be positive');
select throws_ok($$select private.cache_set('', '1', 60)$$, '22023', null, 'a key cannot be empty');

-- Deletes ---------------------------------------------------------------------------------------------

select private.cache_set(k, '1', 60) from unnest(array['p:a', 'p:b', 'p:c', 'q:a', 'x%1', 'xa1']) k;
select is(private.cache_delete('p:a'), true, 'deleting a cached key reports it');
select is(private.cache_delete('p:zzz'), false, 'deleting an absent key reports nothing');
select is(private.cache_delete_prefix('p:'), 2::bigint, 'a prefix delete counts the live keys it removed');
select is(
  array[private.cache_get('p:a'), private.cache_get('p:b'), private.cache_get('q:a')],
  array[null, null, '1'::jsonb], 'keys under the prefix are gone, others stay');
select is(private.cache_delete_prefix('x%'), 1::bigint, 'prefixes are literal (no LIKE wildcards)');
select is(private.cache_get('xa1'), '1'::jsonb, 'so x% does not delete xa1');
select throws_ok($$select private.cache_delete_prefix('')$$, '22023', null,
  'an empty prefix (the whole cache) is refused');

-- Cleanup: expired first, old tombstones, then least recently used down to the budget ------------------

-- Start from a cache holding only this test's entries (in this transaction). The cleanup lock
-- first: a pg_cron cleanup running now must finish before, not make this test's calls skip.
select pg_advisory_xact_lock(hashtext('private.cache_cleanup'));
delete from private.cache_entries;
update private.cache_settings set max_entries = 3, max_bytes = 1000000, touch_interval = '0';
select private.cache_set('lru:' || n, to_jsonb(n), 60) from generate_series(1, 5) n;
select private.cache_set('lru:expired', '0', 1);
select pg_sleep(1.1);
select is(private.cache_get('lru:1'), '1'::jsonb, 'reading lru:1 makes it the most recent');
create temporary table stats1 as select * from private.cache_stats();
create temporary table cleaned as select * from private.cache_cleanup();
select results_eq('select expired, evicted from cleaned', $$values (1::bigint, 2::bigint)$$,
  'cleanup removes the expired entry, then evicts two to fit 3 entries');
select is(array(select key from private.cache_entries order by key),
  array['lru:1', 'lru:4', 'lru:5'], 'the least recently used (lru:2, lru:3) were evicted');
select results_eq(
  $$select s.evictions - s1.evictions, s.expirations - s1.expirations, s.entries
    from private.cache_stats() s, stats1 s1$$,
  $$values (2::bigint, 1::bigint, 3::bigint)$$, 'evictions and expirations are counted');

update private.cache_settings set max_entries = 100, max_bytes =
  (select sum(bytes) from private.cache_entries where key in ('lru:1', 'lru:5'));
select private.cache_get('lru:5');
select private.cache_cleanup();
select is(array(select key from private.cache_entries order by key), array['lru:1', 'lru:5'],
  'the byte budget evicts the least recent too');

select private.cache_delete('lru:1');
update private.cache_entries set written_at = now() - interval '1 day' where key = 'lru:1';
select is((select tombstones from private.cache_cleanup()), 1::bigint,
  'tombstones are removed once older than tombstone_ttl');

-- Inventory through the cache ---------------------------------------------------------------------------

insert into public.categories (id, name, slug) overriding system value values (-300, 'Cache', 'cache-root');
insert into public.products (id, sku, name, price_cents, category_id, active) overriding system value
values (-301, 'CCX-000001', 'Cached one', 100, -300, true),
  (-302, 'CCX-000002', 'Cached two', 100, -300, true),
  (-303, 'CCX-000003', 'Inactive', 100, -300, false);
insert into public.inventory (product_id, on_hand, reserved) values (-301, 10, 1), (-302, 5, 0), (-303, 7, 0);

select results_eq(
  'select * from shop_api.inventory_levels_cached(array[-301, -303], array[''CCX-000002''])',
  'select * from public.inventory_levels(array[-301, -303], array[''CCX-000002''])',
  'a cold read equals the live levels (active products only)');
select is((select value ->> 'available' from private.cache_entries where key = 'inventory:-301'),
  '9', 'the miss filled a per-product entry');
create temporary table stats2 as select * from private.cache_stats();
select results_eq(
  'select * from shop_api.inventory_levels_cached(array[-301, -302])',
  'select * from public.inventory_levels(array[-301, -302])', 'a warm read equals them too');
select is((select hits - (select hits from stats2) from private.cache_stats()), 2::bigint,
  'served from the cache');

update public.inventory set reserved = 4 where product_id = -301;
select is((select value from private.cache_entries where key = 'inventory:-301'), null,
  'a stock change invalidates the entry in its own transaction');
select is((select available from shop_api.inventory_levels_cached(array[-301])), 6,
  'the next read returns the new level');
update public.products set active = false where id = -302;
select is((select count(*)::int from shop_api.inventory_levels_cached(array[-302])), 0,
  'deactivating a product invalidates its cached stock');
delete from public.inventory where product_id = -301;
select results_eq('select on_hand, available from shop_api.inventory_levels_cached(array[-301])',
  $$values (0, 0)$$, 'deleting the stock row invalidates too');

select set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;
select throws_ok('select * from shop_api.inventory_levels_cached(array[-301])', '42501', null,
  'anon cannot fill the cache directly (only the API reads stock through it)');
select throws_ok($$select private.cache_get('t:num')$$, '42501', null, 'anon cannot use the cache');
reset role;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000003a1", "role": "authenticated"}', true);
set local role authenticated;
select throws_ok($$select private.cache_set('t:x', '1', 60)$$, '42501', null,
  'a customer cannot use the cache');
select throws_ok('select count(*) from private.cache_entries', '42501', null,
  'nor read its table');
reset role;
select private.cache_set('svc:key', '42', 60);
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
set local role service_role;
select is(private.cache_get('svc:key'), '42'::jsonb, 'the service role uses the cache');
reset role;

-- Two writers of one key ---------------------------------------------------------------------------------

select dblink_exec('a', $$delete from private.cache_entries where key = 'race:set'$$);
select dblink_exec('a', 'begin');
select * from dblink('a', $$select private.cache_set('race:set', '"first"', 60)::text$$) as t(r text);
select dblink_send_query('b', $$select private.cache_set('race:set', '"second"', 60)$$);
select ok(pg_temp.waits_on_lock('%race:set%second%'), 'the second writer waits for the first');
select dblink_exec('a', 'commit');
select ok((select true from dblink_get_result('b') as t(r text) limit 1), 'then succeeds');
select * from dblink_get_result('b') as t(r text);
select is((select value from dblink('a', $$select value from private.cache_entries where key = 'race:set'$$)
    as t(value jsonb)), '"second"'::jsonb, 'the last writer wins, with one row and no error');
select dblink_exec('a', $$delete from private.cache_entries where key = 'race:set'$$);

-- A reader racing a stock change cannot cache the old level ----------------------------------------------

select dblink_exec('a', $$
  delete from public.inventory where product_id = -390;
  delete from public.products where id = -390;
  insert into public.products (id, sku, name, price_cents) overriding system value
    values (-390, 'CCX-000390', 'Raced', 100);
  insert into public.inventory (product_id, on_hand, reserved) values (-390, 10, 0);
  delete from private.cache_entries where key = 'inventory:-390'$$);
-- The writer changes the stock and has not committed yet.
select dblink_exec('a', 'begin; update public.inventory set on_hand = 3 where product_id = -390');
-- The reader reads the old level, then its fill waits on the writer's tombstone.
select dblink_send_query('b', 'select available from shop_api.inventory_levels_cached(array[-390])');
select ok(pg_temp.waits_on_lock('%inventory_levels_cached(array[-390])%'),
  'the racing reader''s fill waits for the stock change');
select dblink_exec('a', 'commit');
select is((select available from dblink_get_result('b') as t(available int)), 10,
  'the reader returns what its snapshot saw, from before the change');
select * from dblink_get_result('b') as t(available int);
select is((select value from dblink('a', $$select value from private.cache_entries where key = 'inventory:-390'$$)
    as t(value jsonb)), null, 'but its fill was dropped: the entry stays invalidated');
select is((select available from dblink('b', 'select available from shop_api.inventory_levels_cached(array[-390])')
    as t(available int)), 3, 'the next read gets the committed level');
select is((select value ->> 'available' from dblink('a',
    $$select value from private.cache_entries where key = 'inventory:-390'$$) as t(value jsonb)),
  '3', 'and caches it');
select dblink_exec('a', 'begin isolation level repeatable read');
select dblink_exec('a', $$delete from private.cache_entries where key = 'inventory:-390'$$);
select is((select available from dblink('a', 'select available from shop_api.inventory_levels_cached(array[-390])')
    as t(available int)), 3, 'a repeatable read transaction reads through the cache');
select is((select count(*)::int from dblink('a', $$select 1 from private.cache_entries where key = 'inventory:-390'$$)
    as t(x int)), 0, 'without filling it (a racing fill would fail its transaction)');
select dblink_exec('a', 'rollback');
select dblink_exec('a', $$
  delete from public.inventory where product_id = -390;
  delete from public.products where id = -390;
  delete from private.cache_entries where key = 'inventory:-390'$$);
select dblink_disconnect('a');
select dblink_disconnect('b');

-- Read-only transactions read without counting or touching ---------------------------------------------

create temporary table stats3 as select * from private.cache_stats();
set transaction_read_only = on;
select is(private.cache_get('svc:key'), '42'::jsonb, 'a read-only transaction gets hits');
select is((select hits - (select hits from stats3) from private.cache_stats()), 0::bigint,
  'without counting them (it may not write)');

select * from finish();
rollback;
