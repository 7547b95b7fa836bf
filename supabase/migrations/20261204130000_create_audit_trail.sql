-- Audit trail: row changes of the business tables and application events in one append-only,
-- monthly partitioned table, sealed into a hash chain by a job and verified on a schedule.
--
-- Shape: supabase/supa_audit's record_version (record_id derived from the table and primary key,
-- op, ts, table, record and old_record as jsonb) plus who and why: the caller's auth uid and role
-- from the JWT claims (auth.uid() / auth.role(), as RLS reads them), the request id the API sets
-- for the transaction (comptoir.request_id) and the database role. Differences from supa_audit:
--   * statement-level triggers with transition tables (one INSERT ... SELECT per statement, not one
--     per row), generated per table so their plans are cached;
--   * record_id hashes the table's name, not its oid, so ids survive a dump and restore;
--   * application events (op EVENT: action, target, details) live in the same table, so "what did
--     this admin do" is one query;
--   * nothing can update or delete a row (a trigger refuses it for every role, the owner and
--     superusers included unless they disable triggers); retention drops whole partitions;
--   * tamper evidence: audit.seal() chains committed rows (sha256 over the previous hash and the
--     canonical row) without making writers wait on one another; audit.verify() names the first
--     row that breaks the chain.

create schema if not exists audit;
revoke all on schema audit from public;
comment on schema audit is
  'Append-only audit trail (row changes and application events), its hash chain and retention.';

-- Settings ------------------------------------------------------------------------------------------

create table if not exists audit.settings (
  id boolean not null default true,
  retention interval not null default interval '12 months',
  months_ahead integer not null default 3,
  hash_salt bytea not null
    default pg_catalog.sha256(pg_catalog.convert_to(
      pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, 'UTF8')),
  constraint settings_pkey primary key (id),
  constraint settings_id_check check (id),
  constraint settings_retention_check check (retention >= interval '1 month'),
  constraint settings_months_ahead_check check (months_ahead between 1 and 24)
);
comment on table audit.settings is
  'One row: how long partitions are kept, how many months ahead they are created, and the salt of '
  'hashed personal data (never readable outside the audit functions).';
alter table audit.settings enable row level security;
revoke all on table audit.settings from public;
insert into audit.settings (id) values (true) on conflict do nothing;

-- The trail -----------------------------------------------------------------------------------------

create sequence if not exists audit.record_version_id_seq as bigint;
comment on sequence audit.record_version_id_seq is
  'Ids of audit rows (PostgreSQL 15 partitioned tables cannot have identity columns).';

create table if not exists audit.record_version (
  id bigint not null default pg_catalog.nextval('audit.record_version_id_seq'),
  ts timestamptz not null default pg_catalog.now(),
  txid xid8 not null default pg_catalog.pg_current_xact_id(),
  op text not null,
  table_schema text,
  table_name text,
  record_id uuid,
  old_record_id uuid,
  record jsonb,
  old_record jsonb,
  action text,
  target text,
  details jsonb,
  auth_uid uuid,
  auth_role text,
  db_role text not null,
  request_id text,
  -- (ts, id): also the keyset of the newest-first listing, so no second index is needed for it.
  constraint record_version_pkey primary key (ts, id),
  constraint record_version_op_check
    check (op in ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'EVENT')),
  constraint record_version_shape_check check (
    case op
      when 'EVENT' then action is not null and table_name is null
      else action is null and table_name is not null
    end
  ),
  constraint record_version_action_check
    check (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' and char_length(action) <= 100),
  constraint record_version_target_check check (char_length(target) <= 500),
  constraint record_version_request_id_check check (char_length(request_id) <= 255)
) partition by range (ts);
alter sequence audit.record_version_id_seq owned by audit.record_version.id;

comment on table audit.record_version is
  'Append-only audit trail, one row per row change (INSERT, UPDATE, DELETE), per TRUNCATE and per '
  'application event (EVENT), written in the transaction of the change. Partitioned by month.';
comment on column audit.record_version.id is 'Order of insertion (not of commit).';
comment on column audit.record_version.ts is 'Start of the transaction that wrote the row.';
comment on column audit.record_version.txid is
  'Transaction that wrote the row: the sealer chains rows once their transaction has ended.';
comment on column audit.record_version.op is 'INSERT, UPDATE, DELETE, TRUNCATE or EVENT.';
comment on column audit.record_version.record_id is
  'Stable id of the changed row: audit.record_id(table, primary key) of the new row.';
comment on column audit.record_version.old_record_id is 'audit.record_id of the old row.';
comment on column audit.record_version.record is
  'New row as jsonb (INSERT, UPDATE), personal data redacted or hashed per tracked table.';
comment on column audit.record_version.old_record is 'Old row as jsonb (UPDATE, DELETE).';
comment on column audit.record_version.action is
  'Event name (EVENT rows): dotted lowercase words such as dashboard.read.';
comment on column audit.record_version.target is 'What the event acted on (EVENT rows).';
comment on column audit.record_version.details is 'Event details (EVENT rows).';
comment on column audit.record_version.auth_uid is 'auth.uid() of the caller (JWT sub).';
comment on column audit.record_version.auth_role is 'auth.role() of the caller (JWT role).';
comment on column audit.record_version.db_role is
  'Database role the statement ran as (SET ROLE, else the session user).';
comment on column audit.record_version.request_id is
  'X-Request-Id of the API request (comptoir.request_id, set for the transaction).';

-- Each index names the query it serves; every one of them is paid on each audited write.
create index if not exists record_version_txid_idx on audit.record_version (txid);
comment on index audit.record_version_txid_idx is 'audit.seal(): rows of transactions that ended.';
create index if not exists record_version_record_id_idx on audit.record_version (record_id, ts);
comment on index audit.record_version_record_id_idx is
  'History of one row (filter record), order history (the order itself).';
create index if not exists record_version_auth_uid_idx
  on audit.record_version (auth_uid, ts) where auth_uid is not null;
comment on index audit.record_version_auth_uid_idx is 'Everything one user did (filter actor).';
create index if not exists record_version_order_lines_idx
  on audit.record_version ((coalesce(record, old_record) ->> 'order_id'), ts)
  where table_name = 'order_items';
comment on index audit.record_version_order_lines_idx is
  'Order history: the changes of the lines of one order.';

-- The hash chain --------------------------------------------------------------------------------------

create table if not exists audit.seal (
  seq bigint not null,
  id bigint not null,
  ts timestamptz not null,
  hash bytea not null,
  constraint seal_pkey primary key (id, ts),
  constraint seal_seq_check check (seq > 0),
  constraint seal_hash_check check (octet_length(hash) = 32)
) partition by range (ts);
comment on table audit.seal is
  'Position of each sealed audit row in the chain and its hash: sha256(hash of seq - 1 || '
  'sha256(audit.canonical(row))). Partitioned like record_version (same ts) so retention drops '
  'both.';
create unique index if not exists seal_seq_idx on audit.seal (seq, ts);
comment on index audit.seal_seq_idx is 'audit.verify(): walks the chain in seq order.';

create table if not exists audit.chain_anchors (
  seq bigint not null,
  hash bytea not null,
  recorded_at timestamptz not null default pg_catalog.now(),
  reason text not null,
  constraint chain_anchors_pkey primary key (seq),
  constraint chain_anchors_hash_check check (octet_length(hash) = 32)
);
comment on table audit.chain_anchors is
  'Hashes of chain positions whose rows are gone (seq 0: the genesis; then the last rows of each '
  'dropped partition), so that verification of what remains starts from a known hash.';
insert into audit.chain_anchors (seq, hash, reason)
values (0, pg_catalog.sha256(pg_catalog.convert_to('comptoir audit genesis', 'UTF8')), 'genesis')
on conflict do nothing;

create table if not exists audit.chain_head (
  id boolean not null default true,
  seq bigint not null,
  hash bytea not null,
  horizon xid8 not null,
  sealed_at timestamptz,
  constraint chain_head_pkey primary key (id),
  constraint chain_head_id_check check (id)
);
comment on table audit.chain_head is
  'The sealer''s position: last seq and hash, and the transaction horizon below which every '
  'audit row is sealed. Its row lock makes sealers take turns; writers never wait on it.';
insert into audit.chain_head (id, seq, hash, horizon)
select true, 0, a.hash, '0'::xid8 from audit.chain_anchors a where a.seq = 0
on conflict do nothing;

create table if not exists audit.verification (
  id boolean not null default true,
  from_seq bigint not null default 0,
  verified_seq bigint not null default 0,
  intact boolean not null default true,
  problem jsonb,
  checked_at timestamptz,
  checked_rows bigint not null default 0,
  constraint verification_pkey primary key (id),
  constraint verification_id_check check (id)
);
comment on table audit.verification is
  'State of the scheduled verification: where it starts (from_seq, moved past an investigated '
  'break by audit.accept_break), how far the chain is verified, and the first problem found.';
insert into audit.verification (id) values (true) on conflict do nothing;

alter table audit.record_version enable row level security;
alter table audit.seal enable row level security;
alter table audit.chain_anchors enable row level security;
alter table audit.chain_head enable row level security;
alter table audit.verification enable row level security;

-- Row identity and canonical form -----------------------------------------------------------------

create or replace function audit.record_id(p_table text, p_pk jsonb)
returns uuid
language sql
immutable
parallel safe
as $$
  select pg_catalog.md5(p_table || ':' || p_pk::text)::uuid
$$;
comment on function audit.record_id(text, jsonb) is
  'Stable id of a row: md5 of ''schema.table:'' and its primary key values as a jsonb array.';

create or replace function audit.canonical(r audit.record_version)
returns bytea
language sql
immutable
parallel safe
as $$
  -- The text of a row value listing every column explicitly (a column added later does not change
  -- the form of older rows), quoted by record_out so no two rows share it; the timestamp as epoch
  -- seconds so the form does not depend on the session's TimeZone or DateStyle. Three times faster
  -- than a jsonb array (docs/benchmarks/audit.md). No SET clause: the function is inlined.
  select pg_catalog.convert_to(row(
    r.id, extract(epoch from r.ts), r.txid, r.op, r.table_schema, r.table_name,
    r.record_id, r.old_record_id, r.record, r.old_record, r.action, r.target, r.details,
    r.auth_uid, r.auth_role, r.db_role, r.request_id
  )::text, 'UTF8')
$$;
comment on function audit.canonical(audit.record_version) is
  'The bytes of an audit row that its chain hash covers (every column, in a fixed order).';

create or replace function audit.chain_step(p_state bytea, p_row bytea, p_seed bytea)
returns bytea
language sql
immutable
parallel safe
set search_path = ''
as $$
  select pg_catalog.sha256(coalesce(p_state, p_seed) || p_row)
$$;
comment on function audit.chain_step(bytea, bytea, bytea) is
  'One link of the chain: sha256(previous hash, or the seed for the first row || sha256 of the '
  'canonical row).';

do $$
begin
  create aggregate audit.chain(bytea, bytea) (
    sfunc = audit.chain_step, stype = bytea, parallel = safe
  );
exception
  when duplicate_function then null;
end
$$;
comment on aggregate audit.chain(bytea, bytea) is
  'Running hash chain: as a window ordered by seq, each row''s hash from the seed (arg 2).';

-- Who is writing ------------------------------------------------------------------------------------

create or replace function audit.current_actor(
  out auth_uid uuid,
  out auth_role text,
  out db_role text,
  out request_id text
)
language sql
stable
set search_path = ''
as $$
  -- Inside a security definer function current_user is the owner; the role GUC still names the
  -- role the caller switched to (set_config('role', ...), as the API and PostgREST do).
  select auth.uid(), auth.role(),
    case when pg_catalog.current_setting('role') = 'none' then session_user::text
      else pg_catalog.current_setting('role') end,
    pg_catalog.left(nullif(pg_catalog.current_setting('comptoir.request_id', true), ''), 255)
$$;
comment on function audit.current_actor() is
  'Who the current statement runs for: auth.uid() and auth.role() from the JWT claims, the '
  'database role, and the request id set by the API for the transaction.';

create or replace function audit.mask(p_value text)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select 'sha256:' || pg_catalog.encode(pg_catalog.sha256(
    s.hash_salt || pg_catalog.convert_to(p_value, 'UTF8')), 'hex')
  from audit.settings s
  where s.id and p_value is not null
$$;
comment on function audit.mask(text) is
  'Salted sha256 of a personal value: equal values compare equal, the value itself is not kept.';

-- Append-only -----------------------------------------------------------------------------------------

create or replace function audit.refuse_change()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  raise exception 'audit rows are append-only (% on %.%)', tg_op, tg_table_schema, tg_table_name
    using errcode = 'insufficient_privilege',
      hint = 'Old partitions are dropped whole by audit.apply_retention().';
end
$$;
comment on function audit.refuse_change() is
  'BEFORE UPDATE / DELETE / TRUNCATE trigger of the append-only audit tables: always refuses.';

create or replace trigger record_version_append_only
  before update or delete on audit.record_version
  for each row execute function audit.refuse_change();
create or replace trigger record_version_no_truncate
  before truncate on audit.record_version
  for each statement execute function audit.refuse_change();
create or replace trigger seal_append_only
  before update or delete on audit.seal
  for each row execute function audit.refuse_change();
create or replace trigger seal_no_truncate
  before truncate on audit.seal
  for each statement execute function audit.refuse_change();
create or replace trigger chain_anchors_append_only
  before update or delete on audit.chain_anchors
  for each row execute function audit.refuse_change();
create or replace trigger chain_anchors_no_truncate
  before truncate on audit.chain_anchors
  for each statement execute function audit.refuse_change();

-- Partitions ------------------------------------------------------------------------------------------

create or replace function audit.create_partition(p_month date)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_from date := pg_catalog.date_trunc('month', p_month)::date;
  v_to date := (pg_catalog.date_trunc('month', p_month) + interval '1 month')::date;
  v_suffix text := pg_catalog.to_char(v_from, '"y"YYYY"m"MM');
  v_parent text;
  v_name text;
  v_created boolean := false;
begin
  foreach v_parent in array array['record_version', 'seal'] loop
    v_name := v_parent || '_' || v_suffix;
    if to_regclass(pg_catalog.format('audit.%I', v_name)) is null then
      execute pg_catalog.format(
        'create table audit.%I partition of audit.%I for values from (%L) to (%L)',
        v_name, v_parent, v_from::timestamp at time zone 'UTC',
        v_to::timestamp at time zone 'UTC');
      -- A TRUNCATE of the partition itself does not fire the parent's statement triggers.
      execute pg_catalog.format(
        'create trigger %I before truncate on audit.%I '
        'for each statement execute function audit.refuse_change()',
        v_name || '_no_truncate', v_name);
      execute pg_catalog.format('alter table audit.%I enable row level security', v_name);
      execute pg_catalog.format('revoke all on table audit.%I from public', v_name);
      v_created := true;
    end if;
  end loop;
  return v_created;
end
$$;
comment on function audit.create_partition(date) is
  'Creates the record_version and seal partitions of the month of p_month (UTC bounds); returns '
  'whether anything was created.';

do $$
begin
  -- A safety net: writes never fail for want of a partition (the job creates them months ahead).
  if to_regclass('audit.record_version_default') is null then
    create table audit.record_version_default partition of audit.record_version default;
    create trigger record_version_default_no_truncate before truncate
      on audit.record_version_default
      for each statement execute function audit.refuse_change();
  end if;
  if to_regclass('audit.seal_default') is null then
    create table audit.seal_default partition of audit.seal default;
    create trigger seal_default_no_truncate before truncate on audit.seal_default
      for each statement execute function audit.refuse_change();
  end if;
end
$$;
alter table audit.record_version_default enable row level security;
alter table audit.seal_default enable row level security;
revoke all on table audit.record_version_default, audit.seal_default from public;

create or replace function audit.create_partitions()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ahead integer;
  v_created integer := 0;
begin
  select s.months_ahead into v_ahead from audit.settings s where s.id;
  for i in 0 .. v_ahead loop
    if audit.create_partition((pg_catalog.date_trunc('month', pg_catalog.now() at time zone 'UTC')
      + pg_catalog.make_interval(months => i))::date) then
      v_created := v_created + 1;
    end if;
  end loop;
  return v_created;
end
$$;
comment on function audit.create_partitions() is
  'Creates the partitions of this month and of settings.months_ahead months after it.';

select audit.create_partitions();

-- Row changes -------------------------------------------------------------------------------------------

create table if not exists audit.tracked_tables (
  relid oid not null,
  table_schema text not null,
  table_name text not null,
  primary_key text[] not null,
  redacted_columns text[] not null default '{}',
  hashed_columns text[] not null default '{}',
  excluded_columns text[] not null default '{}',
  enabled_at timestamptz not null default pg_catalog.now(),
  constraint tracked_tables_pkey primary key (relid),
  constraint tracked_tables_name_key unique (table_schema, table_name)
);
comment on table audit.tracked_tables is
  'Tables whose changes are audited, with the columns kept out of the records: redacted (value '
  'replaced by ''[redacted]''), hashed (audit.mask) or excluded (key dropped, for derived data).';
alter table audit.tracked_tables enable row level security;
revoke all on table audit.tracked_tables from public;

create or replace function audit.capture_function_name(p_schema text, p_table text)
returns text
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.left('capture_' || p_schema || '__' || p_table, 63)
$$;
comment on function audit.capture_function_name(text, text) is
  'Name (in schema audit) of the generated trigger function of a tracked table.';

create or replace function audit.enable_tracking(
  p_table regclass,
  p_redact text[] default '{}',
  p_hash text[] default '{}',
  p_exclude text[] default '{}'
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_schema text;
  v_table text;
  v_qualified text;
  v_pk text[];
  v_unknown text;
  v_new_pk text;
  v_old_pk text;
  v_join text;
  v_fn text;
begin
  select n.nspname, c.relname into v_schema, v_table
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.oid = p_table and c.relkind = 'r';
  if v_schema is null then
    raise exception 'only ordinary tables can be tracked' using errcode = 'wrong_object_type';
  end if;
  if v_schema = 'audit' then
    raise exception 'the audit tables cannot track themselves' using errcode = 'wrong_object_type';
  end if;
  v_qualified := v_schema || '.' || v_table;

  select pg_catalog.array_agg(a.attname::text order by k.ordinality) into v_pk
  from pg_catalog.pg_index i
  cross join lateral pg_catalog.unnest(i.indkey) with ordinality as k(attnum, ordinality)
  join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
  where i.indrelid = p_table and i.indisprimary;
  if v_pk is null then
    raise exception 'table % has no primary key to derive record ids from', v_qualified
      using errcode = 'invalid_table_definition';
  end if;

  select c into v_unknown
  from pg_catalog.unnest(coalesce(p_redact, '{}') || coalesce(p_hash, '{}')
    || coalesce(p_exclude, '{}')) c
  where not exists (
    select 1 from pg_catalog.pg_attribute a
    where a.attrelid = p_table and a.attname = c and a.attnum > 0 and not a.attisdropped
  )
  limit 1;
  if v_unknown is not null then
    raise exception 'table % has no column %', v_qualified, v_unknown
      using errcode = 'undefined_column';
  end if;

  insert into audit.tracked_tables as t (
    relid, table_schema, table_name, primary_key, redacted_columns, hashed_columns,
    excluded_columns
  ) values (p_table, v_schema, v_table, v_pk, coalesce(p_redact, '{}'), coalesce(p_hash, '{}'),
    coalesce(p_exclude, '{}'))
  on conflict (relid) do update
    set primary_key = excluded.primary_key, redacted_columns = excluded.redacted_columns,
      hashed_columns = excluded.hashed_columns, excluded_columns = excluded.excluded_columns,
      enabled_at = pg_catalog.now();

  select 'pg_catalog.jsonb_build_array(' || pg_catalog.string_agg(pg_catalog.format('n.%I', c), ', ')
      || ')',
    'pg_catalog.jsonb_build_array(' || pg_catalog.string_agg(pg_catalog.format('o.%I', c), ', ')
      || ')',
    pg_catalog.string_agg(pg_catalog.format('o.%1$I = n.%1$I', c), ' and ')
  into v_new_pk, v_old_pk, v_join
  from pg_catalog.unnest(v_pk) c;

  v_fn := audit.capture_function_name(v_schema, v_table);
  -- Static SQL in a function of its own per table: PL/pgSQL caches the plans, so a tracked
  -- statement costs one cached INSERT ... SELECT over its transition table.
  execute pg_catalog.format($fn$
    create or replace function audit.%1$I()
    returns trigger
    language plpgsql
    security definer
    set search_path = ''
    as $body$
    begin
      -- One statement per firing: the actor is read once (a function scan joined to every row).
      if tg_op = 'INSERT' then
        insert into audit.record_version
          (op, table_schema, table_name, record_id, record, auth_uid, auth_role, db_role, request_id)
        select 'INSERT', %2$L, %3$L, audit.record_id(%4$L, %5$s), %7$s,
          a.auth_uid, a.auth_role, a.db_role, a.request_id
        from audit_new n cross join audit.current_actor() a;
      elsif tg_op = 'UPDATE' then
        -- Old and new rows pair on the primary key; a row whose key changed is recorded with
        -- only the side that matches nothing.
        insert into audit.record_version
          (op, table_schema, table_name, record_id, old_record_id, record, old_record,
           auth_uid, auth_role, db_role, request_id)
        select 'UPDATE', %2$L, %3$L,
          case when %10$s is not null then audit.record_id(%4$L, %5$s) end,
          case when %11$s is not null then audit.record_id(%4$L, %6$s) end,
          case when %10$s is not null then %7$s end, case when %11$s is not null then %8$s end,
          a.auth_uid, a.auth_role, a.db_role, a.request_id
        from (audit_new n full join audit_old o on %9$s) cross join audit.current_actor() a;
      elsif tg_op = 'DELETE' then
        insert into audit.record_version
          (op, table_schema, table_name, old_record_id, old_record, auth_uid, auth_role, db_role,
           request_id)
        select 'DELETE', %2$L, %3$L, audit.record_id(%4$L, %6$s), %8$s,
          a.auth_uid, a.auth_role, a.db_role, a.request_id
        from audit_old o cross join audit.current_actor() a;
      else
        insert into audit.record_version
          (op, table_schema, table_name, auth_uid, auth_role, db_role, request_id)
        select 'TRUNCATE', %2$L, %3$L, a.auth_uid, a.auth_role, a.db_role, a.request_id
        from audit.current_actor() a;
      end if;
      return null;
    end
    $body$
  $fn$, v_fn, v_schema, v_table, v_qualified, v_new_pk, v_old_pk,
    audit.record_expression('n', p_redact, p_hash, p_exclude),
    audit.record_expression('o', p_redact, p_hash, p_exclude), v_join,
    pg_catalog.format('n.%I', v_pk[1]), pg_catalog.format('o.%I', v_pk[1]));
  execute pg_catalog.format('revoke all on function audit.%I() from public', v_fn);

  execute pg_catalog.format('drop trigger if exists audit_insert on %s', p_table);
  execute pg_catalog.format('drop trigger if exists audit_update on %s', p_table);
  execute pg_catalog.format('drop trigger if exists audit_delete on %s', p_table);
  execute pg_catalog.format('drop trigger if exists audit_truncate on %s', p_table);
  execute pg_catalog.format(
    'create trigger audit_insert after insert on %s referencing new table as audit_new '
    'for each statement execute function audit.%I()', p_table, v_fn);
  execute pg_catalog.format(
    'create trigger audit_update after update on %s '
    'referencing old table as audit_old new table as audit_new '
    'for each statement execute function audit.%I()', p_table, v_fn);
  execute pg_catalog.format(
    'create trigger audit_delete after delete on %s referencing old table as audit_old '
    'for each statement execute function audit.%I()', p_table, v_fn);
  execute pg_catalog.format(
    'create trigger audit_truncate after truncate on %s '
    'for each statement execute function audit.%I()', p_table, v_fn);
end
$$;
comment on function audit.enable_tracking(regclass, text[], text[], text[]) is
  'Audits every insert, update, delete and truncate of p_table from now on, in the transaction of '
  'the change. p_redact columns are recorded as ''[redacted]'', p_hash columns as audit.mask(), '
  'p_exclude columns left out. Calling it again replaces the options.';

create or replace function audit.record_expression(
  p_alias text,
  p_redact text[],
  p_hash text[],
  p_exclude text[]
)
returns text
language sql
immutable
set search_path = ''
as $$
  select pg_catalog.format('pg_catalog.to_jsonb(%I)', p_alias)
    || case when coalesce(pg_catalog.cardinality(p_exclude), 0) > 0
      then pg_catalog.format(' - %L::text[]', p_exclude) else '' end
    || coalesce((
      select ' || pg_catalog.jsonb_build_object(' || pg_catalog.string_agg(m.pair, ', ') || ')'
      from (
        select pg_catalog.format('%L, case when %I.%I is not null then ''[redacted]'' end',
          c, p_alias, c) as pair
        from pg_catalog.unnest(coalesce(p_redact, '{}')) c
        union all
        select pg_catalog.format('%L, audit.mask(%I.%I::text)', c, p_alias, c)
        from pg_catalog.unnest(coalesce(p_hash, '{}')) c
      ) m
    ), '')
$$;
comment on function audit.record_expression(text, text[], text[], text[]) is
  'SQL expression of a tracked row as jsonb, with redacted, hashed and excluded columns applied.';

create or replace function audit.disable_tracking(p_table regclass)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_row audit.tracked_tables;
begin
  delete from audit.tracked_tables t where t.relid = p_table returning * into v_row;
  execute pg_catalog.format('drop trigger if exists audit_insert on %s', p_table);
  execute pg_catalog.format('drop trigger if exists audit_update on %s', p_table);
  execute pg_catalog.format('drop trigger if exists audit_delete on %s', p_table);
  execute pg_catalog.format('drop trigger if exists audit_truncate on %s', p_table);
  if v_row.relid is not null then
    execute pg_catalog.format('drop function if exists audit.%I()',
      audit.capture_function_name(v_row.table_schema, v_row.table_name));
  end if;
end
$$;
comment on function audit.disable_tracking(regclass) is
  'Stops auditing p_table (its recorded history stays).';

-- Application events --------------------------------------------------------------------------------

create or replace function audit.log_event(p_action text, p_target text, p_details jsonb default '{}')
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor record;
  v_id bigint;
begin
  select * into v_actor from audit.current_actor();
  if p_action is null or p_action !~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'
    or char_length(p_action) > 100 then
    raise exception 'action must be dotted lowercase words of at most 100 characters'
      using errcode = 'invalid_parameter_value';
  end if;
  if char_length(p_target) > 500 then
    raise exception 'target must be at most 500 characters' using errcode = 'invalid_parameter_value';
  end if;
  if p_details is not null and (pg_catalog.jsonb_typeof(p_details) <> 'object'
    or octet_length(p_details::text) > 8192) then
    raise exception 'details must be a JSON object of at most 8 KiB'
      using errcode = 'invalid_parameter_value';
  end if;
  insert into audit.record_version
    (op, action, target, details, auth_uid, auth_role, db_role, request_id)
  values ('EVENT', p_action, p_target, coalesce(p_details, '{}'), v_actor.auth_uid,
    v_actor.auth_role, v_actor.db_role, v_actor.request_id)
  returning id into v_id;
  return v_id;
end
$$;
comment on function audit.log_event(text, text, jsonb) is
  'Records an application event (dashboard.read, export.created, ...) for the current caller, in '
  'the current transaction; returns its id.';

-- Sealing -----------------------------------------------------------------------------------------------

create or replace function audit.seal(p_max_rows integer default 1000000)
returns integer
language plpgsql
security definer
set search_path = ''
set work_mem = '64MB'
as $$
declare
  v_head audit.chain_head;
  -- Every transaction below the snapshot's xmin has ended: its rows are committed or gone.
  v_horizon xid8 := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
  -- Rows of this very transaction commit or roll back with their seals.
  v_own xid8 := pg_catalog.pg_current_xact_id_if_assigned();
  v_batch integer;
  v_total integer := 0;
  v_chunk constant integer := 50000;
begin
  select h.* into v_head from audit.chain_head h where h.id for update;
  loop
    with batch as (
      select r.id, r.ts, pg_catalog.sha256(audit.canonical(r)) as digest
      from audit.record_version r
      where ((r.txid >= v_head.horizon and r.txid < v_horizon) or r.txid = v_own)
        and not exists (select 1 from audit.seal s where s.id = r.id and s.ts = r.ts)
      order by r.id
      limit least(v_chunk, p_max_rows - v_total)
    ),
    chained as (
      select b.id, b.ts, v_head.seq + pg_catalog.row_number() over w as seq,
        audit.chain(b.digest, v_head.hash) over w as hash
      from batch b
      window w as (order by b.id rows between unbounded preceding and current row)
    ),
    written as (
      insert into audit.seal (seq, id, ts, hash)
      select c.seq, c.id, c.ts, c.hash from chained c
      returning seal.seq, seal.hash
    )
    select count(*)::integer, max(w.seq),
      (select w2.hash from written w2 order by w2.seq desc limit 1)
    into v_batch, v_head.seq, v_head.hash
    from written w;
    exit when v_batch = 0;
    v_total := v_total + v_batch;
    update audit.chain_head h set seq = v_head.seq, hash = v_head.hash where h.id;
    exit when v_batch < v_chunk or v_total >= p_max_rows;
  end loop;
  if v_total < p_max_rows then
    update audit.chain_head h set horizon = greatest(h.horizon, v_horizon),
      sealed_at = pg_catalog.now() where h.id;
  else
    update audit.chain_head h set sealed_at = pg_catalog.now() where h.id;
  end if;
  return v_total;
end
$$;
comment on function audit.seal(integer) is
  'Chains the audit rows of transactions that have ended (and of the current one), in id order, '
  'at most p_max_rows; returns how many. Run every minute; writers never wait for it.';

-- Verification --------------------------------------------------------------------------------------

create or replace function audit.verify_seq(p_lo bigint, p_hi bigint)
returns table (seq bigint, id bigint, ts timestamptz, problem text)
language sql
stable
security definer
set search_path = ''
-- The chain is walked in seq order: (seq, hash, digest) of each row sorted in memory.
set work_mem = '64MB'
as $$
  with seed as (
    select coalesce(
      (select s.hash from audit.seal s where s.seq = p_lo - 1),
      (select a.hash from audit.chain_anchors a where a.seq = p_lo - 1)
    ) as hash
  ),
  -- Materialized: each row's digest is computed once, in parallel where the server may, and only
  -- (seq, hash, digest) is sorted for the walk below, not the whole row.
  digests as materialized (
    select s.seq, s.id, s.ts, s.hash, r.id is not null as present,
      case when r.id is not null then pg_catalog.sha256(audit.canonical(r)) end as digest
    from audit.seal s
    left join audit.record_version r on r.id = s.id and r.ts = s.ts
    where s.seq between p_lo and p_hi
  ),
  chain as (
    select d.*, pg_catalog.lag(d.seq) over w as prev_seq, pg_catalog.lag(d.hash) over w as prev_hash
    from digests d
    window w as (order by d.seq)
  ),
  linked as (
    -- The predecessor's hash: the previous seal, else (its row was dropped by retention, or this
    -- is the first position checked) the anchor kept for it. CASE looks anchors up only then.
    select c.*,
      case
        when c.prev_seq = c.seq - 1 then c.prev_hash
        when c.prev_seq is null and c.seq = p_lo then (select hash from seed)
        else (select a.hash from audit.chain_anchors a where a.seq = c.seq - 1)
      end as link
    from chain c
  ),
  checked as (
    select l.seq, l.id, l.ts,
      case
        when l.link is null and l.prev_seq is null and l.seq = p_lo then 'predecessor missing'
        when l.link is null then 'chain gap before this row'
        when not l.present then 'row missing'
        when l.hash <> pg_catalog.sha256(l.link || l.digest) then 'hash mismatch'
      end as problem
    from linked l
  )
  select k.seq, k.id, k.ts, k.problem from checked k
  where k.problem is not null
  order by k.seq
  limit 1
$$;
comment on function audit.verify_seq(bigint, bigint) is
  'Checks the chain positions p_lo..p_hi; returns the first that breaks it (none when intact).';

create or replace function audit.verify(
  p_from timestamptz default '-infinity',
  p_to timestamptz default 'infinity'
)
returns table (seq bigint, id bigint, ts timestamptz, problem text)
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_lo bigint;
  v_hi bigint;
begin
  select min(s.seq), max(s.seq) into v_lo, v_hi
  from audit.seal s where s.ts >= p_from and s.ts < p_to;
  if v_lo is null then
    return;
  end if;
  return query select * from audit.verify_seq(v_lo, v_hi);
end
$$;
comment on function audit.verify(timestamptz, timestamptz) is
  'Verifies the hash chain over the sealed rows written from p_from to p_to (all by default) and '
  'returns the first row that breaks it: seq, id, ts and the problem (hash mismatch, row missing, '
  'chain gap before this row, predecessor missing). No row: the chain is intact.';

create or replace function audit.run_verification(p_full boolean default false)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_state audit.verification;
  v_head audit.chain_head;
  v_first bigint;
  v_lo bigint;
  v_seq bigint;
  v_id bigint;
  v_ts timestamptz;
  v_problem text;
  v_checked bigint;
  v_unsealed bigint;
begin
  select v.* into v_state from audit.verification v where v.id for update;
  select h.* into v_head from audit.chain_head h where h.id;
  select min(s.seq) into v_first from audit.seal s;
  -- A problem found earlier is checked again from its row until it is gone or accepted.
  v_lo := case
    when v_state.problem is not null then (v_state.problem ->> 'seq')::bigint
    when p_full then v_state.from_seq + 1
    else greatest(v_state.verified_seq, v_state.from_seq) + 1
  end;
  v_lo := greatest(v_lo, coalesce(v_first, v_lo));
  v_checked := greatest(v_head.seq - v_lo + 1, 0);
  if v_checked > 0 then
    select f.seq, f.id, f.ts, f.problem into v_seq, v_id, v_ts, v_problem
    from audit.verify_seq(v_lo, v_head.seq) f;
  end if;
  select count(*) into v_unsealed from audit.record_version r
  where r.txid >= v_head.horizon
    and not exists (select 1 from audit.seal s where s.id = r.id and s.ts = r.ts);

  update audit.verification v set
    intact = v_seq is null,
    problem = case when v_seq is not null then pg_catalog.jsonb_build_object(
      'seq', v_seq, 'id', v_id, 'ts', v_ts, 'problem', v_problem) end,
    verified_seq = case when v_seq is null then greatest(v.verified_seq, v_head.seq)
      else v.verified_seq end,
    checked_at = pg_catalog.now(),
    checked_rows = v_checked
  where v.id;

  if to_regprocedure('metrics.flush(text, jsonb)') is not null then
    perform metrics.flush('', pg_catalog.jsonb_build_array(
      pg_catalog.jsonb_build_array('comptoir_audit_chain_intact', '', '', 'l',
        case when v_seq is null then 1 else 0 end),
      pg_catalog.jsonb_build_array('comptoir_audit_verification_timestamp_seconds', '', '', 'l',
        extract(epoch from pg_catalog.now())),
      pg_catalog.jsonb_build_array('comptoir_audit_verified_rows_total', '', '', 'c', v_checked),
      pg_catalog.jsonb_build_array('comptoir_audit_unsealed_rows', '', '', 'l', v_unsealed)
    ));
  end if;
  return v_seq is null;
end
$$;
comment on function audit.run_verification(boolean) is
  'The scheduled verification: the chain since the last verified position (p_full: since '
  'verification.from_seq), or from the row of an earlier problem. Records the outcome in '
  'audit.verification and the metrics store (comptoir_audit_chain_intact and friends); returns '
  'whether the chain is intact.';

create or replace function audit.accept_break(p_seq bigint, p_reason text)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  if coalesce(char_length(btrim(p_reason)), 0) = 0 then
    raise exception 'say why the break is accepted' using errcode = 'invalid_parameter_value';
  end if;
  perform audit.log_event('audit.break_accepted', p_seq::text,
    pg_catalog.jsonb_build_object('reason', p_reason,
      'problem', (select v.problem from audit.verification v where v.id)));
  update audit.verification v
  set from_seq = greatest(v.from_seq, p_seq), verified_seq = greatest(v.verified_seq, p_seq),
    problem = null, intact = true
  where v.id;
end
$$;
comment on function audit.accept_break(bigint, text) is
  'After an investigated break (docs/runbooks/audit_chain_broken.md): scheduled verification '
  'restarts after chain position p_seq. Recorded as an audit.break_accepted event.';

-- Retention ---------------------------------------------------------------------------------------------

create or replace function audit.apply_retention()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_cutoff date;
  v_part record;
  v_seal text;
  v_unsealed boolean;
  v_rows bigint;
  v_anchors bigint;
  v_dropped integer := 0;
begin
  select pg_catalog.date_trunc('month', (pg_catalog.now() at time zone 'UTC') - s.retention)::date
  into v_cutoff from audit.settings s where s.id;
  for v_part in
    select c.relname::text as name,
      pg_catalog.to_date(pg_catalog.substring(c.relname::text, 'y(\d{4}m\d{2})$'), 'YYYY"m"MM')
        as month
    from pg_catalog.pg_inherits i
    join pg_catalog.pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'audit.record_version'::regclass
      and c.relname ~ '^record_version_y\d{4}m\d{2}$'
    order by 2
  loop
    exit when (v_part.month + interval '1 month')::date > v_cutoff;
    v_seal := pg_catalog.replace(v_part.name, 'record_version_', 'seal_');
    execute pg_catalog.format(
      'select exists (select 1 from audit.%I r where not exists '
      '(select 1 from audit.%I s where s.id = r.id and s.ts = r.ts)), '
      '(select count(*) from audit.%1$I)', v_part.name, v_seal)
    into v_unsealed, v_rows;
    if v_unsealed then
      -- Dropping unsealed rows would leave no trace of them; the next run tries again.
      raise warning 'audit partition % has unsealed rows: kept', v_part.name;
      continue;
    end if;
    -- Every dropped link whose successor stays becomes an anchor of the remaining chain.
    execute pg_catalog.format(
      'with a as (insert into audit.chain_anchors (seq, hash, reason) '
      'select s.seq, s.hash, %L from audit.%I s '
      'where not exists (select 1 from audit.%I n where n.seq = s.seq + 1) '
      'on conflict (seq) do nothing returning 1) select count(*) from a',
      'retention of ' || pg_catalog.to_char(v_part.month, 'YYYY-MM'), v_seal, v_seal)
    into v_anchors;
    execute pg_catalog.format('drop table audit.%I', v_seal);
    execute pg_catalog.format('drop table audit.%I', v_part.name);
    perform audit.log_event('audit.partition_dropped', pg_catalog.to_char(v_part.month, 'YYYY-MM'),
      pg_catalog.jsonb_build_object('rows', v_rows, 'anchors', v_anchors));
    v_dropped := v_dropped + 1;
  end loop;
  return v_dropped;
end
$$;
comment on function audit.apply_retention() is
  'Drops the monthly partitions (trail and seals) that ended before now() - settings.retention, '
  'once all their rows are sealed, keeping anchors so verification of the rest starts cleanly; '
  'each drop is itself an audit.partition_dropped event. Returns how many months were dropped.';

create or replace function audit.maintain_partitions()
returns integer
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform audit.create_partitions();
  return audit.apply_retention();
end
$$;
comment on function audit.maintain_partitions() is
  'The daily partition job: creates the months ahead, then applies retention.';

-- Tracked tables --------------------------------------------------------------------------------------

select audit.enable_tracking('public.categories');
select audit.enable_tracking('public.products', p_exclude => array['search_vector']);
select audit.enable_tracking('public.customers', p_hash => array['email', 'full_name']);
select audit.enable_tracking('public.orders');
select audit.enable_tracking('public.order_items');
select audit.enable_tracking('public.inventory');
select audit.enable_tracking('public.stock_movements');

-- Access ------------------------------------------------------------------------------------------------

drop policy if exists record_version_select on audit.record_version;
create policy record_version_select on audit.record_version
  for select to authenticated
  using (
    (select private.is_admin())
    or (
      table_schema = 'public' and table_name in ('orders', 'order_items')
      and exists (
        select 1 from public.orders o
        where o.customer_id = (select auth.uid())
          and o.id::text = coalesce(record, old_record)
            ->> (case when table_name = 'orders' then 'id' else 'order_id' end)
      )
    )
  );
comment on policy record_version_select on audit.record_version is
  'Admins read the whole trail; a customer reads the changes of their own orders and their lines.';

revoke all on all tables in schema audit from public;
revoke all on all sequences in schema audit from public;
revoke all on all functions in schema audit from public;

do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    revoke all on schema audit from anon, authenticated, service_role;
    revoke all on all tables in schema audit from anon, authenticated, service_role;
    revoke all on all sequences in schema audit from anon, authenticated, service_role;
    revoke all on all functions in schema audit from anon, authenticated, service_role;
    grant usage on schema audit to authenticated, service_role;
    grant select on table audit.record_version to authenticated, service_role;
    grant select on table audit.chain_anchors, audit.chain_head, audit.verification,
      audit.tracked_tables to service_role;
    grant execute on function
      audit.log_event(text, text, jsonb),
      audit.verify(timestamptz, timestamptz),
      audit.record_id(text, jsonb)
    to service_role;
    grant execute on function audit.record_id(text, jsonb) to authenticated;
  end if;
end
$$;

-- Jobs ----------------------------------------------------------------------------------------------

insert into private.scheduled_jobs (name, schedule, command, description) values
  ('audit-seal', '* * * * *',
    $$select audit.seal()$$,
    'Chains the audit rows committed since the last run (a minute behind at most).'),
  ('audit-verify', '*/5 * * * *',
    $$select audit.run_verification(false)$$,
    'Verifies the chain sealed since the last run and exports comptoir_audit_chain_intact.'),
  ('audit-verify-full', '27 4 * * *',
    $$select audit.run_verification(true)$$,
    'Verifies the whole retained chain nightly: catches an edit of rows verified before.'),
  ('audit-partitions', '13 2 * * *',
    $$select audit.maintain_partitions()$$,
    'Creates the monthly audit partitions ahead and drops those past the retention.')
on conflict (name) do update
  set schedule = excluded.schedule, command = excluded.command,
    description = excluded.description;
