-- The alerting schema: RLS on every table, the service role writes, admins read, nobody else
-- sees anything; the constraints that keep state consistent; the evaluation and purge jobs.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(17);

select is(
  (select count(*)::int from pg_catalog.pg_tables t where t.schemaname = 'alerting'),
  9, 'nine alerting tables');
select is(
  (select count(*)::int from pg_catalog.pg_tables t where t.schemaname = 'alerting' and not t.rowsecurity),
  0, 'RLS is on for every alerting table');
select ok(
  (select bool_and(pg_catalog.has_table_privilege('service_role', format('alerting.%I', t.tablename), 'insert, update, delete'))
   from pg_catalog.pg_tables t where t.schemaname = 'alerting'),
  'the service role writes every alerting table');
select ok(
  not (select bool_or(pg_catalog.has_table_privilege('anon', format('alerting.%I', t.tablename), 'select'))
       from pg_catalog.pg_tables t where t.schemaname = 'alerting'),
  'anon reads no alerting table');
select ok(
  not (select bool_or(pg_catalog.has_table_privilege('authenticated', format('alerting.%I', t.tablename), 'insert, update, delete'))
       from pg_catalog.pg_tables t where t.schemaname = 'alerting'),
  'signed-in users write no alerting table');

insert into alerting.silences (matchers, starts_at, ends_at, created_by, comment)
values ('[{"name": "alertname", "operator": "=", "value": "OrderDrop"}]', now(), now() + interval '1 hour',
  'pgtap', 'maintenance');
insert into alerting.alerts (fingerprint, alertname, labels, status, starts_at, sources)
values ('0123456789abcdef', 'OrderDrop', '{"alertname": "OrderDrop"}', 'firing', now(), array['rule']);

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "00000000-0000-0000-0000-000000000001", "role": "authenticated"}', true);
select is((select count(*)::int from alerting.silences), 0, 'a customer sees no silence');
select is((select count(*)::int from alerting.alerts), 0, 'a customer sees no alert');
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-0000-0000-000000000002", "role": "authenticated", "app_metadata": {"role": "admin"}}', true);
select is((select count(*)::int from alerting.silences where created_by = 'pgtap'), 1, 'an admin reads the silences');
select is((select count(*)::int from alerting.alerts where fingerprint = '0123456789abcdef'), 1, 'an admin reads the alerts');
select throws_ok(
  $$update alerting.silences set comment = 'changed' where created_by = 'pgtap'$$,
  '42501', null, 'an admin changes silences through the function, not the table');
reset role;

select throws_ok(
  $$insert into alerting.silences (matchers, starts_at, ends_at, created_by, comment)
    values ('[{"name": "a", "operator": "=", "value": "b"}]', now(), now() - interval '1 minute', 'x', 'y')$$,
  '23514', null, 'a silence ends after it starts');
select throws_ok(
  $$insert into alerting.alerts (fingerprint, alertname, labels, status, starts_at, sources)
    values ('abc', 'X', '{}', 'firing', now(), array['rule'])$$,
  '23514', null, 'fingerprints are 16 hex digits');
select throws_ok(
  $$insert into alerting.alerts (fingerprint, alertname, labels, status, starts_at, sources)
    values ('fedcba9876543210', 'X', '{}', 'resolved', now(), array['rule'])$$,
  '23514', null, 'a resolved alert has an end');
select throws_ok(
  $$insert into alerting.series (rule, fingerprint, labels, state) values ('R', 'fedcba9876543210', '{}', 'exploded')$$,
  '23514', null, 'series states are the state machine''s');

select results_eq(
  $$select name, schedule, command from private.scheduled_jobs
    where name in ('evaluate-alerts', 'purge-alerting') order by name$$,
  $$values ('evaluate-alerts', '* * * * *', 'select private.invoke_function(''alerts'', ''/evaluate'')'),
    ('purge-alerting', '27 * * * *', 'select alerting.purge(interval ''1 day'', interval ''90 days'')')$$,
  'evaluation runs every minute through the alerts function; the purge hourly');
select lives_ok($$select alerting.purge()$$, 'the purge runs');
select ok(
  not pg_catalog.has_function_privilege('authenticated', 'alerting.purge(interval, interval)', 'execute'),
  'only the service role purges');

select * from finish();
rollback;
