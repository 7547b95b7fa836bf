-- Query and storage analysis for the service role: slow statements (pg_stat_statements), unused
-- indexes, index usage, sizes, cache hit ratios, bloat, sequential scans, long-running queries and
-- blocking locks, the checks `supabase inspect db` runs, as SQL functions metrics and runbooks call.
--
-- pg_stat_statements is created in the extensions schema where the server offers it (it also
-- needs shared_preload_libraries to collect anything); PGlite has no such extension, so the
-- migration skips it and analyze_slow_queries() says so when called. The functions are security
-- definer so they see every session and statement (the owner reads all statistics), and are
-- granted to the service role only.

do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_stat_statements')
    and not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_stat_statements')
  then
    create extension pg_stat_statements with schema extensions;
  end if;
end
$$;

create or replace function private.pg_stat_statements_schema()
returns text
language sql
stable
set search_path = ''
as $$
  select n.nspname::text
  from pg_catalog.pg_extension e
  join pg_catalog.pg_namespace n on n.oid = e.extnamespace
  where e.extname = 'pg_stat_statements'
$$;
comment on function private.pg_stat_statements_schema() is
  'Schema of the pg_stat_statements extension, or null when it is not installed.';

create or replace function private.analyze_slow_queries(
  p_min_mean_ms double precision default 0,
  p_min_calls bigint default 1,
  p_limit integer default 20
)
returns table (
  queryid bigint,
  query text,
  calls bigint,
  total_ms numeric,
  mean_ms numeric,
  max_ms numeric,
  share_pct numeric,
  rows bigint,
  hit_ratio numeric
)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_schema constant text := private.pg_stat_statements_schema();
begin
  if v_schema is null then
    raise exception 'pg_stat_statements is not installed in this database'
      using errcode = 'feature_not_supported',
        hint = 'It needs shared_preload_libraries = ''pg_stat_statements'' (PGlite has none).';
  end if;
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'p_limit must be between 1 and 1000' using errcode = 'invalid_parameter_value';
  end if;
  -- Dynamic: the view's schema is only known at run time.
  return query execute format($q$
    with s as (
      select s.queryid, s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.max_exec_time,
        s.rows, s.shared_blks_hit, s.shared_blks_read
      from %I.pg_stat_statements s
      where s.dbid = (select d.oid from pg_catalog.pg_database d where d.datname = current_database())
    ),
    total as (select nullif(sum(s.total_exec_time), 0) as ms from s)
    select s.queryid, s.query, s.calls,
      round(s.total_exec_time::numeric, 3), round(s.mean_exec_time::numeric, 3),
      round(s.max_exec_time::numeric, 3),
      round((100 * s.total_exec_time / t.ms)::numeric, 2),
      s.rows,
      round(s.shared_blks_hit::numeric / nullif(s.shared_blks_hit + s.shared_blks_read, 0), 4)
    from s, total t
    where s.mean_exec_time >= $1 and s.calls >= $2
    order by s.total_exec_time desc
    limit $3
  $q$, v_schema)
  using p_min_mean_ms, p_min_calls, p_limit;
end
$$;
comment on function private.analyze_slow_queries(double precision, bigint, integer) is
  'Statements of this database by total execution time (pg_stat_statements, normalised text): '
  'calls, total / mean / max ms, share of all execution time, rows, shared-buffer hit ratio; '
  'only those with mean >= p_min_mean_ms and calls >= p_min_calls, at most p_limit.';

create or replace function private.reset_query_stats()
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_schema constant text := private.pg_stat_statements_schema();
begin
  if v_schema is null then
    raise exception 'pg_stat_statements is not installed in this database'
      using errcode = 'feature_not_supported';
  end if;
  execute format('select %I.pg_stat_statements_reset()', v_schema);
end
$$;
comment on function private.reset_query_stats() is
  'Clears pg_stat_statements, e.g. before measuring a change.';

create or replace function private.unused_indexes(
  p_max_scans bigint default 50,
  p_min_bytes bigint default 1048576
)
returns table (
  schema_name text,
  table_name text,
  index_name text,
  index_bytes bigint,
  index_scans bigint
)
language sql
stable
security definer
set search_path = ''
as $$
  -- Unique and primary key indexes enforce constraints, so they are never "unused".
  select s.schemaname::text, s.relname::text, s.indexrelname::text,
    pg_catalog.pg_relation_size(s.indexrelid), s.idx_scan
  from pg_catalog.pg_stat_user_indexes s
  join pg_catalog.pg_index i on i.indexrelid = s.indexrelid
  where not i.indisunique and not i.indisprimary
    and not exists (select 1 from pg_catalog.pg_constraint c where c.conindid = s.indexrelid)
    and s.idx_scan < p_max_scans
    and pg_catalog.pg_relation_size(s.indexrelid) >= p_min_bytes
  order by pg_catalog.pg_relation_size(s.indexrelid) desc, s.indexrelname
$$;
comment on function private.unused_indexes(bigint, bigint) is
  'Non-unique indexes scanned fewer than p_max_scans times since statistics were reset and at '
  'least p_min_bytes large: candidates to drop (they slow every write).';

create or replace function private.index_usage()
returns table (
  schema_name text,
  table_name text,
  seq_scans bigint,
  index_scans bigint,
  index_scan_pct numeric,
  live_rows bigint
)
language sql
stable
security definer
set search_path = ''
as $$
  select s.schemaname::text, s.relname::text, s.seq_scan, coalesce(s.idx_scan, 0),
    round(100 * coalesce(s.idx_scan, 0)::numeric
      / nullif(s.seq_scan + coalesce(s.idx_scan, 0), 0), 1),
    s.n_live_tup
  from pg_catalog.pg_stat_user_tables s
  order by s.n_live_tup desc, s.schemaname, s.relname
$$;
comment on function private.index_usage() is
  'Per table: sequential and index scans and the share of scans that used an index.';

create or replace function private.table_sizes()
returns table (
  schema_name text,
  table_name text,
  kind text,
  row_estimate bigint,
  table_bytes bigint,
  index_bytes bigint,
  toast_bytes bigint,
  total_bytes bigint
)
language sql
stable
security definer
set search_path = ''
as $$
  select n.nspname::text, c.relname::text,
    case c.relkind when 'm' then 'materialized view' else 'table' end,
    greatest(c.reltuples, 0)::bigint,
    pg_catalog.pg_relation_size(c.oid), pg_catalog.pg_indexes_size(c.oid),
    coalesce(pg_catalog.pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0),
    pg_catalog.pg_total_relation_size(c.oid)
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'm', 'p')
    and n.nspname not in ('pg_catalog', 'information_schema')
    and n.nspname !~ '^pg_toast'
  order by pg_catalog.pg_total_relation_size(c.oid) desc, n.nspname, c.relname
$$;
comment on function private.table_sizes() is
  'Where the space goes, per table and materialized view: heap, indexes, TOAST and total bytes.';

create or replace function private.index_sizes()
returns table (
  schema_name text,
  table_name text,
  index_name text,
  index_bytes bigint,
  index_scans bigint
)
language sql
stable
security definer
set search_path = ''
as $$
  select s.schemaname::text, s.relname::text, s.indexrelname::text,
    pg_catalog.pg_relation_size(s.indexrelid), s.idx_scan
  from pg_catalog.pg_stat_user_indexes s
  order by pg_catalog.pg_relation_size(s.indexrelid) desc, s.schemaname, s.indexrelname
$$;
comment on function private.index_sizes() is 'Every index with its size and scan count, largest first.';

create or replace function private.cache_hit_ratios()
returns table (
  name text,
  ratio numeric
)
language sql
stable
security definer
set search_path = ''
as $$
  select 'index hit rate',
    round(sum(s.idx_blks_hit)::numeric / nullif(sum(s.idx_blks_hit + s.idx_blks_read), 0), 4)
  from pg_catalog.pg_statio_user_indexes s
  union all
  select 'table hit rate',
    round(sum(s.heap_blks_hit)::numeric / nullif(sum(s.heap_blks_hit + s.heap_blks_read), 0), 4)
  from pg_catalog.pg_statio_user_tables s
$$;
comment on function private.cache_hit_ratios() is
  'Share of index and table block reads served from shared buffers (aim above 0.99).';

create or replace function private.bloat_estimate(p_min_waste_bytes bigint default 0)
returns table (
  kind text,
  schema_name text,
  object_name text,
  bloat_ratio numeric,
  waste_bytes bigint
)
language sql
stable
security definer
set search_path = ''
as $$
  -- The classic estimate (the one `supabase inspect db bloat` uses): expected pages from column
  -- statistics (average width, null fraction, tuple header) against actual pages. It needs
  -- ANALYZE statistics and overestimates for tables with many wide TOASTed values.
  with constants as (
    select pg_catalog.current_setting('block_size')::numeric as bs, 23 as hdr, 8 as ma
  ),
  widths as (
    select s.schemaname, s.tablename, c.hdr, c.ma, c.bs,
      sum((1 - s.null_frac) * s.avg_width) as datawidth,
      max(s.null_frac) as maxfracsum,
      c.hdr + 1 + count(*) filter (where s.null_frac <> 0) / 8 as nullhdr
    from pg_catalog.pg_stats s, constants c
    group by s.schemaname, s.tablename, c.hdr, c.ma, c.bs
  ),
  info as (
    select w.schemaname, w.tablename, w.bs, w.ma,
      (w.datawidth + (w.hdr + w.ma - case when w.hdr % w.ma = 0 then w.ma else w.hdr % w.ma end))
        ::numeric as datahdr,
      (w.maxfracsum * (w.nullhdr + w.ma
        - case when w.nullhdr % w.ma = 0 then w.ma else w.nullhdr % w.ma end)) as nullhdr2
    from widths w
  ),
  tables as (
    select i.schemaname, i.tablename, cc.oid, cc.relpages::numeric as pages, i.bs,
      ceil(cc.reltuples * ((i.datahdr + i.ma
        - case when i.datahdr % i.ma = 0 then i.ma else i.datahdr % i.ma end)
        + i.nullhdr2 + 4) / (i.bs - 20)) as expected_pages,
      i.datahdr
    from info i
    join pg_catalog.pg_namespace nn on nn.nspname = i.schemaname
    join pg_catalog.pg_class cc on cc.relnamespace = nn.oid and cc.relname = i.tablename
    where cc.relkind in ('r', 'm')
  ),
  objects as (
    select 'table' as kind, t.schemaname::text, t.tablename::text as object_name,
      t.pages, t.expected_pages, t.bs
    from tables t
    union all
    select 'index', t.schemaname::text, t.tablename || '.' || ci.relname, ci.relpages,
      ceil(ci.reltuples * (t.datahdr - 12) / (t.bs - 20)), t.bs
    from tables t
    join pg_catalog.pg_index x on x.indrelid = t.oid
    join pg_catalog.pg_class ci on ci.oid = x.indexrelid
  )
  select o.kind, o.schemaname, o.object_name,
    round(case when o.expected_pages > 0 then o.pages::numeric / o.expected_pages::numeric
      else 0 end, 1),
    greatest(o.pages - o.expected_pages, 0)::bigint * o.bs::bigint
  from objects o
  where o.schemaname not in ('pg_catalog', 'information_schema')
    and greatest(o.pages - o.expected_pages, 0) * o.bs >= p_min_waste_bytes
  order by 5 desc, 4 desc
$$;
comment on function private.bloat_estimate(bigint) is
  'Estimated bloat of tables and indexes (pages beyond what their rows need) from planner '
  'statistics: ratio and wasted bytes, largest waste first.';

create or replace function private.seq_scans(p_min_rows bigint default 10000)
returns table (
  schema_name text,
  table_name text,
  seq_scans bigint,
  seq_rows_read bigint,
  live_rows bigint,
  table_bytes bigint
)
language sql
stable
security definer
set search_path = ''
as $$
  select s.schemaname::text, s.relname::text, s.seq_scan, s.seq_tup_read, s.n_live_tup,
    pg_catalog.pg_relation_size(s.relid)
  from pg_catalog.pg_stat_user_tables s
  where s.seq_scan > 0 and s.n_live_tup >= p_min_rows
  order by s.seq_tup_read desc, s.schemaname, s.relname
$$;
comment on function private.seq_scans(bigint) is
  'Tables of at least p_min_rows live rows read by sequential scans, most rows read first: '
  'candidates for an index.';

create or replace function private.long_running_queries(
  p_min_duration interval default interval '5 minutes'
)
returns table (
  pid integer,
  usename text,
  application_name text,
  state text,
  duration interval,
  wait_event_type text,
  query text
)
language sql
stable
security definer
set search_path = ''
as $$
  -- clock_timestamp(), not now(): the caller's transaction may have started before the query.
  select a.pid, a.usename::text, a.application_name, a.state, clock_timestamp() - a.query_start,
    a.wait_event_type, a.query
  from pg_catalog.pg_stat_activity a
  where a.pid <> pg_catalog.pg_backend_pid()
    and a.state is not null and a.state <> 'idle'
    and a.backend_type = 'client backend'
    and clock_timestamp() - a.query_start >= p_min_duration
  order by clock_timestamp() - a.query_start desc
$$;
comment on function private.long_running_queries(interval) is
  'Statements (or open transactions) running for at least p_min_duration, longest first.';

create or replace function private.blocking_locks()
returns table (
  blocked_pid integer,
  blocked_query text,
  blocked_for interval,
  blocking_pid integer,
  blocking_query text,
  blocking_state text,
  blocking_for interval
)
language sql
stable
security definer
set search_path = ''
as $$
  select w.pid, w.query, clock_timestamp() - w.query_start, b.pid, b.query, b.state, clock_timestamp() - b.xact_start
  from pg_catalog.pg_stat_activity w
  cross join lateral unnest(pg_catalog.pg_blocking_pids(w.pid)) k(pid)
  join pg_catalog.pg_stat_activity b on b.pid = k.pid
  where w.wait_event_type = 'Lock'
  order by clock_timestamp() - w.query_start desc
$$;
comment on function private.blocking_locks() is
  'Sessions waiting for a lock, with the sessions that block them (pg_blocking_pids).';

revoke all on function
  private.pg_stat_statements_schema(),
  private.analyze_slow_queries(double precision, bigint, integer),
  private.reset_query_stats(),
  private.unused_indexes(bigint, bigint),
  private.index_usage(),
  private.table_sizes(),
  private.index_sizes(),
  private.cache_hit_ratios(),
  private.bloat_estimate(bigint),
  private.seq_scans(bigint),
  private.long_running_queries(interval),
  private.blocking_locks()
from public, anon, authenticated, service_role;
grant execute on function
  private.analyze_slow_queries(double precision, bigint, integer),
  private.reset_query_stats(),
  private.unused_indexes(bigint, bigint),
  private.index_usage(),
  private.table_sizes(),
  private.index_sizes(),
  private.cache_hit_ratios(),
  private.bloat_estimate(bigint),
  private.seq_scans(bigint),
  private.long_running_queries(interval),
  private.blocking_locks()
to service_role;
