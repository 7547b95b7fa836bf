-- Query and storage analysis on a database with a known unused index, a known slow statement, a
-- bloated table, a long-running query and a blocked session (two more sessions via dblink, with
-- the password pg_prove's psql got in PGPASSWORD).
\set pgpassword ''
\getenv pgpassword PGPASSWORD
begin;
create extension if not exists pgtap with schema extensions;
create extension if not exists dblink with schema extensions;
set local search_path = public, extensions;

select plan(28);

select is(private.pg_stat_statements_schema(), 'extensions',
  'pg_stat_statements is installed in the extensions schema');

-- Slow statements: a probe that sleeps 50 ms, run three times at top level -----------------------------

select private.reset_query_stats();
select pg_sleep(0.05) /* analysis-probe */;
select pg_sleep(0.05) /* analysis-probe */;
select pg_sleep(0.05) /* analysis-probe */;
create temporary table slow as
  select * from private.analyze_slow_queries(40, 3, 100) where query like '%analysis-probe%';
select is((select count(*)::int from slow), 1, 'the slow statement is reported once, normalised');
select ok((select query ~ 'pg_sleep\(\$1\)' from slow), 'with its constants replaced');
select ok((select calls = 3 and mean_ms >= 50 and max_ms >= mean_ms
    and abs(total_ms - mean_ms * calls) < 0.01 from slow),
  'calls, total, mean and max time are reported');
select ok((select share_pct > 0 and share_pct <= 100 and rows = 3 from slow),
  'its share of all execution time and its rows are reported');
select is(
  (select count(*)::int from private.analyze_slow_queries(100000, 1, 100)
    where query like '%analysis-probe%'), 0, 'a mean-time threshold above it leaves it out');
select is(
  (select count(*)::int from private.analyze_slow_queries(0, 4, 100)
    where query like '%analysis-probe%'), 0, 'so does a minimum number of calls');
select is((select count(*)::int from private.analyze_slow_queries(0, 1, 2)), 2,
  'the limit caps the rows');
select ok(
  (select bool_and(hit_ratio is null or hit_ratio between 0 and 1)
    from private.analyze_slow_queries(0, 1, 100)),
  'buffer hit ratios are fractions');
select private.reset_query_stats();
select is(
  (select count(*)::int from private.analyze_slow_queries(0, 1, 100)
    where query like '%analysis-probe%'), 0, 'the reset clears the statistics');

-- An unused index and a bloated table ---------------------------------------------------------------

create table public.analysis_probe (id bigint primary key, label text not null);
insert into public.analysis_probe select n, 'label ' || n from generate_series(1, 50000) n;
create index analysis_probe_label_idx on public.analysis_probe (label);
select ok(exists (select 1 from private.unused_indexes(50, 1000000)
    where table_name = 'analysis_probe' and index_name = 'analysis_probe_label_idx'
      and index_bytes >= 1000000 and index_scans = 0),
  'a large index that was never scanned is unused');
select ok(not exists (select 1 from private.unused_indexes(50, 0)
    where index_name = 'analysis_probe_pkey'), 'a primary key is never reported as unused');
select ok(not exists (select 1 from private.unused_indexes(50, 1000000000)
    where index_name = 'analysis_probe_label_idx'), 'small indexes are left out by the size floor');

select ok(exists (select 1 from private.index_sizes()
    where index_name = 'analysis_probe_label_idx' and index_bytes > 0), 'index sizes list it');
select ok(exists (select 1 from private.index_usage() where table_name = 'orders'),
  'index usage lists the tables');
select ok(
  (select table_bytes > 0 and index_bytes > 0 and total_bytes >= table_bytes + index_bytes
    and kind = 'table' from private.table_sizes() where schema_name = 'public' and table_name = 'orders'),
  'table sizes split heap, indexes and total');
select ok(exists (select 1 from private.table_sizes()
    where schema_name = 'private' and table_name = 'sales_summary_daily' and kind = 'materialized view'),
  'materialized views count too');

delete from public.analysis_probe where id % 10 <> 0;
analyze public.analysis_probe;
select ok(
  (select bloat_ratio > 2 and waste_bytes > 1000000 from private.bloat_estimate()
    where kind = 'table' and schema_name = 'public' and object_name = 'analysis_probe'),
  'a table with 90 % of its rows deleted shows bloat and the wasted bytes');

select ok((select count(*) = 2 and bool_and(ratio between 0 and 1) from private.cache_hit_ratios()),
  'index and table cache hit ratios are fractions');

-- Sequential scans: committed by another session, so that its statistics get flushed -----------------

create temporary table conn as
  select format('host=%s port=%s dbname=%s user=%s password=%s',
    coalesce(host(inet_server_addr()), 'localhost'), current_setting('port'), current_database(),
    current_user, :'pgpassword') as s;
select dblink_connect('a', (select s from conn));
select dblink_connect('b', (select s from conn));
select dblink_exec('a', $$drop table if exists public.analysis_seq_probe;
  create table public.analysis_seq_probe as select n from generate_series(1, 20000) n;
  analyze public.analysis_seq_probe$$);
select * from dblink('a', 'select count(*)::text from public.analysis_seq_probe') as t(r text);
select * from dblink('a', 'select count(*)::text from public.analysis_seq_probe') as t(r text);
-- Statistics are flushed at most once a second, or at once when asked to.
select * from dblink('a', 'select pg_stat_force_next_flush()::text') as t(r text);
create function pg_temp.seq_scanned() returns boolean language plpgsql as $$
begin
  for i in 1..100 loop
    perform pg_stat_clear_snapshot();
    if exists (select 1 from private.seq_scans(10000)
        where table_name = 'analysis_seq_probe' and seq_scans >= 2 and live_rows = 20000) then
      return true;
    end if;
    perform pg_sleep(0.1);
  end loop;
  return false;
end
$$;
select ok(pg_temp.seq_scanned(), 'a large table read by sequential scans is reported');
select ok(not exists (select 1 from private.seq_scans(20001) where table_name = 'analysis_seq_probe'),
  'tables below the row floor are left out');
select dblink_exec('a', 'drop table public.analysis_seq_probe');

-- A long-running query and a blocked session ----------------------------------------------------------

select dblink_send_query('a', 'select pg_sleep(2) /* long-probe */');
select pg_sleep(0.3);
select pg_stat_clear_snapshot();
select ok(exists (select 1 from private.long_running_queries(interval '0.2 seconds')
    where query like '%long-probe%' and state = 'active'),
  'a statement running longer than the threshold is reported');
select ok(not exists (select 1 from private.long_running_queries(interval '1 hour')
    where query like '%long-probe%'), 'a shorter one is not');
select * from dblink_get_result('a') as t(r text);
select * from dblink_get_result('a') as t(r text);

select * from dblink('a', 'select pg_advisory_lock(424242)::text') as t(r text);
select dblink_send_query('b', 'select pg_advisory_lock(424242) /* blocked-probe */');
select pg_sleep(0.3);
select pg_stat_clear_snapshot();
select ok(exists (select 1 from private.blocking_locks()
    where blocked_query like '%blocked-probe%'
      and blocking_pid = (select pid from dblink('a', 'select pg_backend_pid()') as t(pid int))),
  'a session waiting for a lock is reported with the session blocking it');
select * from dblink('a', 'select pg_advisory_unlock(424242)::text') as t(r text);
select * from dblink_get_result('b') as t(r text);
select * from dblink_get_result('b') as t(r text);
select * from dblink('b', 'select pg_advisory_unlock(424242)::text') as t(r text);
select dblink_disconnect('a');
select dblink_disconnect('b');

-- Who may call them ------------------------------------------------------------------------------------

set local role service_role;
select lives_ok('select * from private.table_sizes()', 'the service role reads the analysis');
reset role;
set local role anon;
select throws_ok('select * from private.analyze_slow_queries()', '42501', null,
  'anon cannot read query statistics');
reset role;
set local role authenticated;
select throws_ok('select * from private.unused_indexes()', '42501', null,
  'a signed-in user cannot read index statistics');
select throws_ok('select private.reset_query_stats()', '42501', null,
  'nor reset query statistics');
reset role;

select * from finish();
rollback;
