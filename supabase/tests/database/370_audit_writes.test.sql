-- The audit trail's writers keep its rows well formed now that audit.record_version has no CHECK
-- constraints (20261205130000): nobody else can insert, every op writes the shape the trail
-- promises, audit.log_event refuses what the constraints refused, and long request ids are cut.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
set local client_min_messages = warning;
select plan(16);

-- The shape every trail row must have (what the dropped constraints said).
create function pg_temp.well_formed(r audit.record_version) returns boolean language sql as $$
  select coalesce(
    r.op in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'EVENT')
    and case r.op
      when 'EVENT' then r.action is not null and r.table_name is null
        and r.action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' and char_length(r.action) <= 100
        and coalesce(char_length(r.target) <= 500, true)
      else r.action is null and r.target is null and r.details is null and r.table_name is not null
    end
    and coalesce(char_length(r.request_id) <= 255, true), false)
$$;

select is(
  (select count(*)::integer from pg_catalog.pg_constraint c
   where c.conrelid = 'audit.record_version'::regclass and c.contype = 'c'),
  0,
  'audit.record_version has no CHECK constraint to rebuild on each audited statement'
);

-- Nobody but the audit functions writes the trail.
set local role anon;
select throws_ok(
  $$insert into audit.record_version (op, action, db_role) values ('EVENT', 'x.y', 'anon')$$,
  '42501', null, 'anon cannot insert audit rows');
reset role;
set local role authenticated;
select throws_ok(
  $$insert into audit.record_version (op, action, db_role) values ('EVENT', 'x.y', 'a')$$,
  '42501', null, 'authenticated cannot insert audit rows');
reset role;
set local role service_role;
select throws_ok(
  $$insert into audit.record_version (op, action, db_role) values ('EVENT', 'x.y', 's')$$,
  '42501', null, 'service_role cannot insert audit rows');
reset role;

-- Every op of a tracked table writes a well-formed row.
create table public.audit_writes_probe (id integer primary key, label text not null);
do $$
begin
  perform audit.enable_tracking('public.audit_writes_probe');
  perform set_config('comptoir.request_id', repeat('r', 300), true);
end
$$;
insert into public.audit_writes_probe values (1, 'one'), (2, 'two');
update public.audit_writes_probe set label = 'uno' where id = 1;
delete from public.audit_writes_probe where id = 2;
truncate public.audit_writes_probe;
insert into public.audit_writes_probe select 3, 'three' where false;

-- Audit rows of this transaction.
create function pg_temp.written() returns setof audit.record_version language sql as $$
  select r.* from audit.record_version r where r.txid = pg_catalog.pg_current_xact_id()
$$;
create temp view probe_rows as
select r from pg_temp.written() r where r.table_name = 'audit_writes_probe';

select results_eq(
  $$select (r).op, count(*)::integer from probe_rows group by 1 order by 1$$,
  $$values ('DELETE', 1), ('INSERT', 2), ('TRUNCATE', 1), ('UPDATE', 1)$$,
  'each tracked op writes one row per changed row (none for a statement that changed nothing)'
);
select is((select count(*)::integer from probe_rows p where not pg_temp.well_formed(p.r)), 0,
  'every row of a tracked table is well formed');
select is((select count(*)::integer from probe_rows p where (p.r).table_schema = 'public'), 5,
  'tracked rows name their schema');
select is(
  (select pg_catalog.array_agg(distinct char_length((p.r).request_id)) from probe_rows p),
  array[255],
  'a request id longer than 255 characters is recorded cut to 255'
);

-- audit.log_event refuses what the constraints refused, and writes well-formed events.
select throws_ok($$select audit.log_event(null, 'x', '{}')$$, '22023', null,
  'an event needs an action');
select throws_ok($$select audit.log_event('dashboard.' || repeat('r', 100), 'x', '{}')$$,
  '22023', null, 'an action of more than 100 characters is refused');
select throws_ok($$select audit.log_event('Dashboard.Read', 'x', '{}')$$, '22023', null,
  'an action must be dotted lowercase words');
select throws_ok($$select audit.log_event('dashboard', 'x', '{}')$$, '22023', null,
  'an action needs at least two words');
select throws_ok($$select audit.log_event('dashboard.read', repeat('t', 501), '{}')$$, '22023',
  null, 'a target of more than 500 characters is refused');
select lives_ok($$select audit.log_event('dashboard.read', repeat('t', 500), null)$$,
  'a target of 500 characters and no details are accepted');

create temp view event_rows as select r from pg_temp.written() r where r.op = 'EVENT';
select is((select count(*)::integer from event_rows), 1, 'only the accepted event was written');
select ok((select bool_and(pg_temp.well_formed(e.r)) from event_rows e),
  'the event is well formed (details {} and the request id cut to 255)');

select * from finish();
rollback;
