-- Scrape-time metrics computed by the database: low stock, materialized view staleness and refresh, the shared cache tier and pg_cron run totals.
--
-- The metrics function calls metrics.scrape() once per scrape. Objects of other migrations (the
-- refresh log, the cache, pg_cron) are looked up when the function runs, so this file applies on
-- any database: plain Postgres with pg_cron, Supabase, or PGlite without it.

-- Low stock -----------------------------------------------------------------------------------------

create or replace function metrics.low_stock_threshold()
returns integer
language sql
stable
set search_path = ''
as $$
  -- An operator sets it per database: alter database postgres set comptoir.low_stock_threshold = 5;
  select coalesce(
    nullif(pg_catalog.current_setting('comptoir.low_stock_threshold', true), '')::integer,
    10
  )
$$;

comment on function metrics.low_stock_threshold() is
  'Available units at or below which an active product counts as low on stock: the '
  'comptoir.low_stock_threshold setting, 10 by default.';

-- Materialized views --------------------------------------------------------------------------------

create table if not exists metrics.views_first_seen (
  view_name text not null,
  first_seen_at timestamptz not null default now(),
  constraint views_first_seen_pkey primary key (view_name)
);

comment on table metrics.views_first_seen is
  'When a scrape first saw each refreshable view: the staleness of a view that never refreshed '
  'counts from then (no catalog records when a materialized view was created).';

alter table metrics.views_first_seen enable row level security;
revoke all on table metrics.views_first_seen from public;

create or replace function metrics.schedule_interval_seconds(p_schedule text)
returns double precision
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_fields text[];
  v_step text;
  v_minutes integer[];
  v_count integer;
  v_gap integer := 0;
begin
  if p_schedule ~ '^\s*\d+\s+seconds?\s*$' then
    return (pg_catalog.regexp_match(p_schedule, '\d+'))[1]::double precision;
  end if;
  v_fields := pg_catalog.regexp_split_to_array(pg_catalog.btrim(p_schedule), '\s+');
  if coalesce(pg_catalog.array_length(v_fields, 1), 0) <> 5 then
    return null;
  end if;
  -- Minute field first: '*' every minute, '*/N' every N minutes, a list of minutes every hour
  -- (the longest gap between two of them, wrapping around the hour).
  if v_fields[1] = '*' then
    return 60;
  end if;
  v_step := (pg_catalog.regexp_match(v_fields[1], '^\*/(\d+)$'))[1];
  if v_step is not null then
    return v_step::double precision * 60;
  end if;
  if v_fields[1] !~ '^\d+(,\d+)*$' then
    return null;
  end if;
  select pg_catalog.array_agg(distinct m.minute order by m.minute) into v_minutes
  from pg_catalog.unnest(pg_catalog.string_to_array(v_fields[1], ',')::integer[]) as m(minute);
  v_count := pg_catalog.array_length(v_minutes, 1);
  if v_count > 1 then
    if v_fields[2] <> '*' then
      return null;
    end if;
    for i in 2 .. v_count loop
      v_gap := greatest(v_gap, v_minutes[i] - v_minutes[i - 1]);
    end loop;
    return greatest(v_gap, 60 - v_minutes[v_count] + v_minutes[1]) * 60;
  end if;
  if v_fields[2] = '*' then
    return 3600;
  end if;
  v_step := (pg_catalog.regexp_match(v_fields[2], '^\*/(\d+)$'))[1];
  if v_step is not null then
    return v_step::double precision * 3600;
  end if;
  if v_fields[2] ~ '^\d+$' and v_fields[3] = '*' and v_fields[5] = '*' then
    return 86400;
  end if;
  return null;
end
$$;

comment on function metrics.schedule_interval_seconds(text) is
  'Interval in seconds of a cron schedule (''N seconds'', ''* * * * *'', ''*/N * * * *'', '
  'minute lists such as ''3,18,33,48 * * * *'' (longest gap), hourly, every N hours, daily); '
  'null for schedules without a regular cadence.';

create or replace function metrics.record_refresh_logged()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- Skipped calls did not refresh anything: they are not refresh attempts.
  if new.outcome in ('succeeded', 'failed') then
    perform metrics.record_view_refresh(
      'private.' || new.view_name,
      new.duration_ms::double precision / 1000,
      new.outcome = 'succeeded'
    );
  end if;
  return null;
end
$$;

comment on function metrics.record_refresh_logged() is
  'AFTER INSERT trigger on private.refresh_log: records each refresh attempt in the refresh '
  'duration histogram and failure counter, in the transaction that logs it.';

do $$
begin
  if to_regclass('private.refresh_log') is not null then
    create or replace trigger refresh_log_record_metrics
      after insert on private.refresh_log
      for each row execute function metrics.record_refresh_logged();
  end if;
end
$$;

-- pg_cron run totals --------------------------------------------------------------------------------

create table if not exists metrics.cron_progress (
  id boolean not null default true,
  last_runid bigint not null default 0,
  constraint cron_progress_pkey primary key (id),
  constraint cron_progress_id_check check (id)
);

comment on table metrics.cron_progress is
  'Every finished cron.job_run_details run with runid <= last_runid has been added to the run '
  'counters; finished runs above it are listed in metrics.cron_runs_counted.';

create table if not exists metrics.cron_runs_counted (
  runid bigint not null,
  constraint cron_runs_counted_pkey primary key (runid)
);

comment on table metrics.cron_runs_counted is
  'Finished runs above cron_progress.last_runid already counted (an older run was still going).';

alter table metrics.cron_progress enable row level security;
alter table metrics.cron_runs_counted enable row level security;
revoke all on table metrics.cron_progress, metrics.cron_runs_counted from public;

insert into metrics.cron_progress (id, last_runid) values (true, 0) on conflict do nothing;

create or replace function metrics.record_cron_run(p_job text, p_succeeded boolean)
returns void
language sql
security definer
set search_path = ''
as $$
  -- The failure counter is written on success too (+0) so that its series exists from the first
  -- run and increase() sees the first failure.
  select metrics.flush('', pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_array('comptoir_cron_job_runs_total',
      'cron_job="' || p_job || '"', '', 'c', 1),
    pg_catalog.jsonb_build_array('comptoir_cron_job_failures_total',
      'cron_job="' || p_job || '"', '', 'c', case when p_succeeded then 0 else 1 end)
  ))
  where p_job ~ '^[A-Za-z0-9_.:-]{1,64}$'
$$;

comment on function metrics.record_cron_run(text, boolean) is
  'Counts one finished run of scheduled job p_job (for schedulers other than pg_cron, such as the '
  'dev server''s); pg_cron runs are counted by metrics.collect_cron_runs().';

create or replace function metrics.collect_cron_runs()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_last bigint;
  v_next bigint;
  v_counted integer := 0;
begin
  if to_regclass('cron.job_run_details') is null or to_regclass('cron.job') is null then
    return 0;
  end if;
  -- One collector at a time: two scrapes must not count the same runs.
  select p.last_runid into v_last from metrics.cron_progress p where p.id for update;

  execute $q$
    with fresh as (
      select d.runid, j.jobname, d.status
      from cron.job_run_details d
      join cron.job j on j.jobid = d.jobid
      where d.runid > $1
        and d.status in ('succeeded', 'failed')
        and j.jobname is not null
        and not exists (select 1 from metrics.cron_runs_counted c where c.runid = d.runid)
    ),
    marked as (
      insert into metrics.cron_runs_counted (runid) select runid from fresh
    ),
    per_job as (
      select jobname, count(*) as runs, count(*) filter (where status = 'failed') as failures
      from fresh group by jobname
    )
    select (select count(*) from fresh)::integer
    from (
      select metrics.flush('', coalesce(pg_catalog.jsonb_agg(s.sample), '[]'::jsonb))
      from per_job
      cross join lateral (values
        (pg_catalog.jsonb_build_array('comptoir_cron_job_runs_total',
          'cron_job="' || jobname || '"', '', 'c', runs)),
        (pg_catalog.jsonb_build_array('comptoir_cron_job_failures_total',
          'cron_job="' || jobname || '"', '', 'c', failures))
      ) as s(sample)
      where jobname ~ '^[A-Za-z0-9_.:-]{1,64}$'
    ) written
  $q$ into v_counted using v_last;

  -- Advance past every finished run, stopping below the oldest run still going.
  execute $q$
    select coalesce(
      (select min(d.runid) - 1 from cron.job_run_details d
        where d.runid > $1 and d.status not in ('succeeded', 'failed')),
      (select max(d.runid) from cron.job_run_details d),
      $1
    )
  $q$ into v_next using v_last;
  if v_next > v_last then
    update metrics.cron_progress set last_runid = v_next where id;
    delete from metrics.cron_runs_counted where runid <= v_next;
  end if;
  return coalesce(v_counted, 0);
end
$$;

comment on function metrics.collect_cron_runs() is
  'Adds the pg_cron runs finished since the last call to comptoir_cron_job_runs_total and '
  'comptoir_cron_job_failures_total, so the totals stay monotonic when cron.job_run_details is '
  'pruned; returns how many runs it counted. A no-op without pg_cron.';

-- The scrape ----------------------------------------------------------------------------------------

create or replace function metrics.scrape()
returns table (name text, labels jsonb, value double precision)
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform metrics.collect_cron_runs();

  return query
    select 'comptoir_low_stock_products'::text, '{}'::jsonb, count(*)::double precision
    from public.products p
    left join public.inventory i on i.product_id = p.id
    where p.active
      and coalesce(i.on_hand - i.reserved, 0) <= metrics.low_stock_threshold();

  if to_regclass('private.refreshable_views') is not null
    and to_regclass('private.refresh_log') is not null then
    insert into metrics.views_first_seen (view_name)
    select r.view_name from private.refreshable_views r
    on conflict do nothing;

    return query execute $q$
      with views as (
        select r.view_name, r.max_staleness,
          (select max(l.started_at) from private.refresh_log l
            where l.view_name = r.view_name and l.outcome = 'succeeded') as refreshed_at,
          f.first_seen_at
        from private.refreshable_views r
        join metrics.views_first_seen f on f.view_name = r.view_name
      ),
      schedules as (
        select v.view_name, v.refreshed_at, v.first_seen_at, v.max_staleness,
          metrics.view_schedule_seconds(v.view_name) as scheduled
        from views v
      )
      select 'comptoir_materialized_view_staleness_seconds'::text,
        pg_catalog.jsonb_build_object('view', 'private.' || s.view_name),
        greatest(extract(epoch from pg_catalog.now() - coalesce(s.refreshed_at, s.first_seen_at)), 0)
          ::double precision
      from schedules s
      union all
      -- Without a scheduled job, max_staleness stands for three refresh intervals.
      select 'comptoir_materialized_view_refresh_interval_seconds'::text,
        pg_catalog.jsonb_build_object('view', 'private.' || s.view_name),
        coalesce(s.scheduled, extract(epoch from s.max_staleness) / 3)::double precision
      from schedules s
    $q$;
  end if;

  if to_regclass('private.cache_entries') is not null then
    -- Keys are '<cache>:<key>'; the metrics function keeps the prefixes that name a cache.
    return query execute $q$
      select m.name, pg_catalog.jsonb_build_object('cache', c.cache, 'tier', 'shared'), m.value
      from (
        select pg_catalog.split_part(e.key, ':', 1) as cache, count(*)::double precision as entries,
          coalesce(sum(e.bytes), 0)::double precision as bytes
        from private.cache_entries e
        where e.value is not null and e.expires_at > pg_catalog.now()
        group by 1
      ) c
      cross join lateral (values
        ('comptoir_cache_entries'::text, c.entries),
        ('comptoir_cache_size_bytes'::text, c.bytes)
      ) as m(name, value)
    $q$;
  end if;
end
$$;

comment on function metrics.scrape() is
  'Gauges the metrics function reads at each scrape: comptoir_low_stock_products, view staleness '
  'and refresh interval, entries and bytes of the shared cache tier; also counts pg_cron runs '
  'finished since the last scrape. Objects of other migrations are skipped when absent.';

create or replace function metrics.view_schedule_seconds(p_view text)
returns double precision
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_seconds double precision;
begin
  if to_regclass('private.scheduled_jobs') is null then
    return null;
  end if;
  -- The enabled job whose command refreshes the view: the same table feeds pg_cron and the dev
  -- scheduler.
  execute $q$
    select min(metrics.schedule_interval_seconds(j.schedule))
    from private.scheduled_jobs j
    where j.enabled and j.command like '%refresh_materialized_view(''' || $1 || ''')%'
  $q$ into v_seconds using p_view;
  return v_seconds;
end
$$;

comment on function metrics.view_schedule_seconds(text) is
  'Refresh interval in seconds of private.<p_view> from the schedule of the job of '
  'private.scheduled_jobs that refreshes it; null without such a job.';

revoke all on function
  metrics.low_stock_threshold(),
  metrics.schedule_interval_seconds(text),
  metrics.record_refresh_logged(),
  metrics.record_cron_run(text, boolean),
  metrics.collect_cron_runs(),
  metrics.scrape(),
  metrics.view_schedule_seconds(text)
from public;

do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    revoke all on function
      metrics.low_stock_threshold(),
      metrics.schedule_interval_seconds(text),
      metrics.record_refresh_logged(),
      metrics.record_cron_run(text, boolean),
      metrics.collect_cron_runs(),
      metrics.scrape(),
      metrics.view_schedule_seconds(text)
    from anon, authenticated;
    revoke all on table metrics.views_first_seen, metrics.cron_progress, metrics.cron_runs_counted
    from anon, authenticated;
    grant execute on function
      metrics.record_cron_run(text, boolean),
      metrics.collect_cron_runs(),
      metrics.scrape()
    to service_role;
  end if;
end
$$;
