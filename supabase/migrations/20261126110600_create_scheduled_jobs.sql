-- Scheduled maintenance, defined once: private.scheduled_jobs holds every job (name, cron schedule,
-- SQL command). Where pg_cron runs in this database the jobs are registered with it (and kept in
-- sync by a trigger); elsewhere (PGlite, other databases of the cluster) the dev gateway's
-- scheduler (scripts/lib/scheduler.ts) reads the same table and runs the same commands.
--
-- pg_cron is used only when the extension can exist here: the server offers it and this is the
-- database named by cron.database_name (pg_cron lives in exactly one database per cluster).

do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron')
    and current_database() = pg_catalog.current_setting('cron.database_name', true)
    and not exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron')
  then
    create extension pg_cron;
  end if;
exception
  -- Offered but not preloaded (shared_preload_libraries): the jobs then run elsewhere.
  when others then
    raise notice 'pg_cron not enabled: %', sqlerrm;
end
$$;

create table if not exists private.scheduled_jobs (
  name text not null,
  schedule text not null,
  command text not null,
  description text not null default '',
  enabled boolean not null default true,
  constraint scheduled_jobs_pkey primary key (name),
  constraint scheduled_jobs_name_check check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  -- Five cron fields (minute hour day-of-month month day-of-week): what pg_cron 1.4 and the dev
  -- scheduler both understand.
  constraint scheduled_jobs_schedule_check
    check (schedule ~ '^\s*\S+(\s+\S+){4}\s*$' and schedule ~ '^[0-9*/,\s-]+$'),
  constraint scheduled_jobs_command_check check (char_length(btrim(command)) > 0)
);
comment on table private.scheduled_jobs is
  'Every scheduled job: registered with pg_cron where it runs in this database, run by the dev '
  'scheduler (scripts/lib/scheduler.ts) elsewhere. Edit the rows, not cron.job.';
comment on column private.scheduled_jobs.name is 'Job name (also the pg_cron job name).';
comment on column private.scheduled_jobs.schedule is 'Five-field cron schedule, in UTC.';
comment on column private.scheduled_jobs.command is 'SQL run by the job, as the job owner.';
comment on column private.scheduled_jobs.description is 'What the job does and why this cadence.';
comment on column private.scheduled_jobs.enabled is 'Disabled jobs are unscheduled.';
alter table private.scheduled_jobs enable row level security;
revoke all on table private.scheduled_jobs from public, anon, authenticated;
grant select on table private.scheduled_jobs to service_role;

create or replace function private.pg_cron_enabled()
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron')
    and current_database() = pg_catalog.current_setting('cron.database_name', true)
$$;
comment on function private.pg_cron_enabled() is
  'Whether pg_cron runs jobs in this database (extension present, cron.database_name is this one).';

create or replace function private.sync_scheduled_jobs()
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_job record;
  v_count integer := 0;
begin
  if not private.pg_cron_enabled() then
    return 0;
  end if;
  -- Dynamic SQL: the cron schema does not exist where pg_cron is absent.
  for v_job in select j.name, j.schedule, j.command, j.enabled from private.scheduled_jobs j loop
    if v_job.enabled then
      -- cron.schedule with a name updates the job of that name or creates it.
      execute 'select cron.schedule($1, $2, $3)' using v_job.name, v_job.schedule, v_job.command;
      v_count := v_count + 1;
    else
      execute 'select cron.unschedule(j.jobid) from cron.job j where j.jobname = $1'
        using v_job.name;
    end if;
  end loop;
  return v_count;
end
$$;
comment on function private.sync_scheduled_jobs() is
  'Registers the enabled jobs of private.scheduled_jobs with pg_cron and unschedules the disabled '
  'ones; returns how many are scheduled (0 where pg_cron does not run here).';

create or replace function private.scheduled_jobs_sync()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if private.pg_cron_enabled() then
    -- A renamed or deleted job leaves pg_cron under its old name.
    if tg_op in ('UPDATE', 'DELETE') and (tg_op = 'DELETE' or old.name <> new.name) then
      execute 'select cron.unschedule(j.jobid) from cron.job j where j.jobname = $1'
        using old.name;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
      if new.enabled then
        execute 'select cron.schedule($1, $2, $3)' using new.name, new.schedule, new.command;
      else
        execute 'select cron.unschedule(j.jobid) from cron.job j where j.jobname = $1'
          using new.name;
      end if;
    end if;
  end if;
  return null;
end
$$;
comment on function private.scheduled_jobs_sync() is
  'Row trigger on private.scheduled_jobs: applies each change to pg_cron where it runs here.';

create or replace trigger scheduled_jobs_sync
  after insert or update or delete on private.scheduled_jobs
  for each row execute function private.scheduled_jobs_sync();

create or replace function private.purge_job_history(
  p_keep_cron_runs interval default interval '7 days',
  p_keep_refresh_log interval default interval '30 days'
)
returns table (cron_runs_deleted bigint, refresh_log_deleted bigint)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_cron bigint := 0;
  v_log bigint;
begin
  -- pg_cron keeps a row per run forever; at one job per minute that is 1,440 rows a day per job.
  if private.pg_cron_enabled() and to_regclass('cron.job_run_details') is not null then
    execute 'with gone as (delete from cron.job_run_details d where d.end_time < now() - $1 '
      || 'returning 1) select count(*) from gone'
      into v_cron using p_keep_cron_runs;
  end if;
  with gone as (
    delete from private.refresh_log l where l.started_at < now() - p_keep_refresh_log returning 1
  )
  select count(*) into v_log from gone;
  return query select v_cron, v_log;
end
$$;
comment on function private.purge_job_history(interval, interval) is
  'Deletes pg_cron run details older than p_keep_cron_runs (where pg_cron runs here) and refresh '
  'log rows older than p_keep_refresh_log; returns the counts.';

insert into private.scheduled_jobs (name, schedule, command, description) values
  ('refresh-sales-dashboard-realtime', '* * * * *',
    $$select private.refresh_materialized_view('sales_dashboard_realtime')$$,
    'Dashboard documents of the standard windows: a minute behind at most.'),
  ('refresh-top-products-hourly', '*/5 * * * *',
    $$select private.refresh_materialized_view('top_products_hourly')$$,
    'Best sellers of each hour of the last 7 days: the current hour moves every few minutes.'),
  ('refresh-sales-summary-daily', '3,18,33,48 * * * *',
    $$select private.refresh_materialized_view('sales_summary_daily')$$,
    'Sales per day and category over the whole history: a few seconds of work, four times an '
    'hour, off the minutes other refreshes start on.'),
  ('refresh-products-stats', '8,23,38,53 * * * *',
    $$select private.refresh_materialized_view('products_stats')$$,
    'Per-product sales and stock: four times an hour, apart from sales_summary_daily.'),
  ('cache-cleanup', '* * * * *',
    $$select private.cache_cleanup()$$,
    'Drops expired cache entries and old tombstones, then evicts down to the budget.'),
  ('purge-job-history', '17 3 * * *',
    $$select private.purge_job_history(interval '7 days', interval '30 days')$$,
    'Trims cron.job_run_details (7 days) and private.refresh_log (30 days), nightly.')
on conflict (name) do update
  set schedule = excluded.schedule, command = excluded.command,
    description = excluded.description;

-- The trigger registers rows as they change; this covers rows that existed before it.
select private.sync_scheduled_jobs();

revoke all on function
  private.pg_cron_enabled(),
  private.sync_scheduled_jobs(),
  private.scheduled_jobs_sync(),
  private.purge_job_history(interval, interval)
from public, anon, authenticated, service_role;
grant execute on function private.sync_scheduled_jobs() to service_role;
grant execute on function private.purge_job_history(interval, interval) to service_role;
