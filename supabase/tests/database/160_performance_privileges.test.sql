-- Privilege matrix of the performance layer: each function, view and table is granted to the least
-- roles that need it, nothing to PUBLIC, security definer functions pin search_path, and anon and
-- customers are refused where they have no business.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(10);

create temporary table expected_functions (signature text, roles text[]) on commit drop;
insert into expected_functions values
  ('public.search_products(text,bigint,bigint,bigint,boolean,text,integer,jsonb)',
    '{anon,authenticated,service_role}'),
  ('public.list_categories()', '{anon,authenticated,service_role}'),
  ('public.inventory_levels(bigint[],text[])', '{anon,authenticated,service_role}'),
  ('shop_api.inventory_levels_cached(bigint[],text[])', '{service_role}'),
  ('public.order_details(bigint)', '{authenticated,service_role}'),
  ('public.sales_dashboard(integer)', '{authenticated,service_role}'),
  ('private.cache_get(text)', '{service_role}'),
  ('private.cache_set(text,jsonb,integer)', '{service_role}'),
  ('private.cache_invalidate(text[])', '{service_role}'),
  ('private.cache_delete(text)', '{service_role}'),
  ('private.cache_delete_prefix(text)', '{service_role}'),
  ('private.cache_stats()', '{service_role}'),
  ('private.cache_cleanup()', '{service_role}'),
  ('private.refresh_materialized_view(text)', '{service_role}'),
  ('private.analyze_slow_queries(double precision,bigint,integer)', '{service_role}'),
  ('private.reset_query_stats()', '{service_role}'),
  ('private.unused_indexes(bigint,bigint)', '{service_role}'),
  ('private.index_usage()', '{service_role}'),
  ('private.table_sizes()', '{service_role}'),
  ('private.index_sizes()', '{service_role}'),
  ('private.cache_hit_ratios()', '{service_role}'),
  ('private.bloat_estimate(bigint)', '{service_role}'),
  ('private.seq_scans(bigint)', '{service_role}'),
  ('private.long_running_queries(interval)', '{service_role}'),
  ('private.blocking_locks()', '{service_role}'),
  ('private.sync_scheduled_jobs()', '{service_role}'),
  ('private.purge_job_history(interval,interval)', '{service_role}'),
  ('private.search_tsquery(text)', '{}'),
  ('private.is_revenue_status(public.order_status)', '{}'),
  ('private.caller_reads_all_orders()', '{}'),
  ('private.change_pct(numeric,numeric)', '{}'),
  ('private.sales_dashboard_compute(integer,timestamp with time zone)', '{}'),
  ('private.recount_category_products(bigint[])', '{}'),
  ('private.products_recount_categories()', '{}'),
  ('private.cache_counter(regclass)', '{}'),
  ('private.cache_writable()', '{}'),
  ('private.inventory_invalidate_cache()', '{}'),
  ('private.products_invalidate_inventory_cache()', '{}'),
  ('private.pg_stat_statements_schema()', '{}'),
  ('private.pg_cron_enabled()', '{}'),
  ('private.scheduled_jobs_sync()', '{}');

select set_eq(
  $$select f.signature, r.role from expected_functions f,
      unnest(array['anon', 'authenticated', 'service_role']) r(role)
    where has_function_privilege(r.role, f.signature, 'execute')$$,
  $$select f.signature, r.role from expected_functions f, unnest(f.roles) r(role)$$,
  'each function is executable by exactly the roles that need it');
select is(
  array(select f.signature from expected_functions f
    join pg_catalog.pg_proc p on p.oid = f.signature::regprocedure
    where exists (select 1 from aclexplode(p.proacl) a where a.grantee = 0)
      or p.proacl is null),
  '{}'::text[], 'none is executable by PUBLIC');
select is(
  array(select f.signature from expected_functions f
    join pg_catalog.pg_proc p on p.oid = f.signature::regprocedure
    where p.prosecdef and not exists (
      select 1 from unnest(p.proconfig) c where c like 'search_path=%')),
  '{}'::text[], 'every security definer function pins its search_path');
select is(
  array(select f.signature from expected_functions f
    join pg_catalog.pg_proc p on p.oid = f.signature::regprocedure
    where not exists (select 1 from unnest(p.proconfig) c where c like 'search_path=%')),
  '{}'::text[], 'in fact every function does');

create temporary table expected_relations (relation text, privilege text, roles text[])
  on commit drop;
insert into expected_relations values
  ('private.category_product_stats', 'select', '{service_role}'),
  ('private.sales_summary_daily', 'select', '{service_role}'),
  ('private.top_products_hourly', 'select', '{service_role}'),
  ('private.sales_dashboard_realtime', 'select', '{service_role}'),
  ('private.products_stats', 'select', '{service_role}'),
  ('private.sales_dashboard_windows', 'select', '{service_role}'),
  ('private.refreshable_views', 'select', '{service_role}'),
  ('private.refresh_log', 'select', '{service_role}'),
  ('private.materialized_view_staleness', 'select', '{service_role}'),
  ('private.cache_entries', 'select', '{service_role}'),
  ('private.cache_settings', 'select', '{service_role}'),
  ('private.cache_settings', 'update', '{service_role}'),
  ('private.scheduled_jobs', 'select', '{service_role}');
select set_eq(
  $$select x.relation, x.privilege, r.role from expected_relations x,
      unnest(array['anon', 'authenticated', 'service_role']) r(role)
    where has_table_privilege(r.role, x.relation, x.privilege)$$,
  $$select x.relation, x.privilege, r.role from expected_relations x, unnest(x.roles) r(role)$$,
  'tables and views are readable by the service role only');
select is(
  array(select x.relation || ':' || p.privilege from (select distinct relation from expected_relations) x,
      unnest(array['insert', 'update', 'delete', 'truncate']) p(privilege),
      unnest(array['anon', 'authenticated']) r(role)
    where has_table_privilege(r.role, x.relation, p.privilege)),
  '{}'::text[], 'anon and authenticated cannot write any of them');
select ok(
  (select bool_and(c.relrowsecurity) from pg_catalog.pg_class c
    where c.oid in ('private.category_product_stats'::regclass, 'private.sales_dashboard_windows'::regclass,
      'private.refreshable_views'::regclass, 'private.refresh_log'::regclass,
      'private.cache_entries'::regclass, 'private.cache_settings'::regclass,
      'private.scheduled_jobs'::regclass)),
  'every new table has row level security enabled');

-- Calls, as PostgREST would make them --------------------------------------------------------------

create temporary table service_calls (call text) on commit drop;
insert into service_calls values
  ('select private.cache_get(''k'')'), ('select private.cache_set(''k'', ''1'', 1)'),
  ('select private.cache_delete(''k'')'), ('select private.cache_delete_prefix(''k'')'),
  ('select * from private.cache_stats()'), ('select * from private.cache_cleanup()'),
  ('select private.refresh_materialized_view(''products_stats'')'),
  ('select * from private.analyze_slow_queries()'), ('select * from private.unused_indexes()'),
  ('select * from private.table_sizes()'), ('select * from private.blocking_locks()'),
  ('select * from private.materialized_view_staleness'),
  ('select * from private.sales_summary_daily'), ('select public.sales_dashboard()');
grant select on service_calls to anon, authenticated;

create function pg_temp.refused(p_call text) returns boolean language plpgsql as $$
begin
  execute p_call;
  return false;
exception
  when insufficient_privilege then
    return true;
end
$$;
grant execute on function pg_temp.refused(text) to anon, authenticated;

select set_config('request.jwt.claims', '{"role": "anon"}', true);
set local role anon;
select is(array(select c.call from service_calls c where not pg_temp.refused(c.call)), '{}'::text[],
  'anon is refused every cache, refresh, analysis and dashboard call (42501)');
reset role;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000006a1", "role": "authenticated",'
  || ' "user_metadata": {"role": "admin"}}', true);
set local role authenticated;
select is(array(select c.call from service_calls c where not pg_temp.refused(c.call)), '{}'::text[],
  'a customer is refused them too (user_metadata cannot make an admin)');
reset role;
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-4000-8000-0000000006ad", "role": "authenticated",'
  || ' "app_metadata": {"role": "admin"}}', true);
set local role authenticated;
select lives_ok('select public.sales_dashboard(7)', 'an admin may read the dashboard');
reset role;

select * from finish();
rollback;
