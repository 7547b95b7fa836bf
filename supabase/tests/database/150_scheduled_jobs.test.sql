-- Scheduled jobs: one table of definitions, registered with pg_cron (where it runs in this
-- database) and kept in sync on every change; history purge; who may read the definitions.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(21);

select ok(
  (select bool_and(j.schedule ~ '^\S+( \S+){4}$') from private.scheduled_jobs j),
  'every job has a five-field cron schedule');
select ok(
  (select count(*) >= 6 from private.scheduled_jobs j where j.name in (
    'refresh-sales-dashboard-realtime', 'refresh-top-products-hourly',
    'refresh-sales-summary-daily', 'refresh-products-stats', 'cache-cleanup', 'purge-job-history')),
  'the refresh, cache cleanup and history purge jobs are defined');
select results_eq(
  $$select name, schedule from private.scheduled_jobs where name in ('refresh-sales-dashboard-realtime',
    'refresh-top-products-hourly', 'refresh-sales-summary-daily', 'refresh-products-stats',
    'cache-cleanup', 'purge-job-history') order by name$$,
  $$values ('cache-cleanup', '* * * * *'), ('purge-job-history', '17 3 * * *'),
    ('refresh-products-stats', '8,23,38,53 * * * *'),
    ('refresh-sales-dashboard-realtime', '* * * * *'),
    ('refresh-sales-summary-daily', '3,18,33,48 * * * *'),
    ('refresh-top-products-hourly', '*/5 * * * *')$$,
  'with their cadences');
select throws_ok(
  $$insert into private.scheduled_jobs (name, schedule, command) values ('x', '30 seconds', 'select 1')$$,
  '23514', null, 'interval schedules are refused (pg_cron 1.4 and the dev scheduler differ on them)');
select throws_ok(
  $$insert into private.scheduled_jobs (name, schedule, command) values ('x', '0 * * * * *', 'select 1')$$,
  '23514', null, 'six-field schedules are refused');

select private.pg_cron_enabled() as cron_enabled \gset
\if :cron_enabled

select set_eq(
  $$select jobname, schedule, command, active from cron.job
    where jobname in (select name from private.scheduled_jobs)$$,
  $$select name, schedule, command, true from private.scheduled_jobs where enabled$$,
  'pg_cron runs exactly the enabled jobs of the table, with their schedules and commands');
select ok(
  (select bool_and(username = current_user) from cron.job
    where jobname in (select name from private.scheduled_jobs)),
  'jobs run as the owner of the migrations');
select is(private.sync_scheduled_jobs(),
  (select count(*)::int from private.scheduled_jobs where enabled),
  'syncing again registers the same jobs, no duplicates');
select is(
  (select count(*)::int from cron.job where jobname in (select name from private.scheduled_jobs)),
  (select count(*)::int from private.scheduled_jobs where enabled), 'one pg_cron job per definition');

update private.scheduled_jobs set schedule = '*/2 * * * *' where name = 'cache-cleanup';
select is((select schedule from cron.job where jobname = 'cache-cleanup'), '*/2 * * * *',
  'a changed schedule reaches pg_cron in the same transaction');
update private.scheduled_jobs set enabled = false where name = 'cache-cleanup';
select is((select count(*)::int from cron.job where jobname = 'cache-cleanup'), 0,
  'a disabled job is unscheduled');
update private.scheduled_jobs set enabled = true where name = 'cache-cleanup';
select is((select count(*)::int from cron.job where jobname = 'cache-cleanup'), 1,
  'and scheduled again when enabled');
insert into private.scheduled_jobs (name, schedule, command) values ('test-job', '0 4 * * *', 'select 1');
select is((select schedule from cron.job where jobname = 'test-job'), '0 4 * * *',
  'a new row is scheduled');
update private.scheduled_jobs set name = 'test-job-renamed' where name = 'test-job';
select is(
  (select array_agg(jobname::text order by jobname) from cron.job where jobname like 'test-job%'),
  array['test-job-renamed'], 'a renamed job leaves no job under its old name');
delete from private.scheduled_jobs where name = 'test-job-renamed';
select is((select count(*)::int from cron.job where jobname like 'test-job%'), 0,
  'a deleted row is unscheduled');

insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, status,
  return_message, start_time, end_time)
values (0, -1, 0, current_database(), current_user, 'select 1', 'succeeded', '1 row',
  now() - interval '30 days', now() - interval '30 days');
insert into private.refresh_log (view_name, started_at, finished_at, duration_ms, outcome)
values ('products_stats', now() - interval '90 days', now() - interval '90 days', 1, 'succeeded');
create temporary table purged as select * from private.purge_job_history();
select ok((select cron_runs_deleted >= 1 and refresh_log_deleted >= 1 from purged),
  'the history purge deletes old pg_cron runs and refresh log rows');
select is(
  (select count(*)::int from cron.job_run_details where runid = -1)
    + (select count(*)::int from private.refresh_log where started_at < now() - interval '60 days'),
  0, 'and they are gone');

\else

select skip('pg_cron does not run jobs in this database', 12);

\endif

set local role service_role;
select ok((select count(*) > 0 from private.scheduled_jobs), 'the service role reads the jobs');
reset role;
set local role anon;
select throws_ok('select * from private.scheduled_jobs', '42501', null, 'anon cannot read the jobs');
reset role;
set local role authenticated;
select throws_ok('select * from private.scheduled_jobs', '42501', null,
  'a signed-in user cannot read the jobs');
select throws_ok('select private.purge_job_history()', '42501', null,
  'nor purge job history');
reset role;

select * from finish();
rollback;
