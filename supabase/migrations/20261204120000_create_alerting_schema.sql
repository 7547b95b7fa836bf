-- The alerting service's state: series of the rules and their state machine, the alerts they and
-- Alertmanager raise, their history, notification groups, silences, and the record of every
-- evaluated instant. Written by the alerts function (service role); admins may read.

create schema if not exists alerting;
comment on schema alerting is
  'Alert state, history, groups and silences of the alerts function (supabase/functions/alerts).';
revoke all on schema alerting from public;
grant usage on schema alerting to service_role;

do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    grant usage on schema alerting to authenticated;
  end if;
end
$$;

-- Series: one row per series of a rule (its labels), with the state machine's memory. -----------

create table if not exists alerting.series (
  rule text not null,
  fingerprint text not null,
  labels jsonb not null,
  state text not null default 'inactive',
  active_at timestamptz,
  fired_at timestamptz,
  last_breach_at timestamptz,
  last_seen_at timestamptz,
  resolved_at timestamptz,
  nodata_since timestamptz,
  value double precision,
  updated_at timestamptz not null default now(),
  constraint series_pkey primary key (rule, fingerprint),
  constraint series_fingerprint_check check (fingerprint ~ '^[0-9a-f]{16}$'),
  constraint series_state_check
    check (state in ('inactive', 'pending', 'firing', 'resolved', 'nodata')),
  constraint series_labels_check check (jsonb_typeof(labels) = 'object')
);
comment on table alerting.series is
  'State machine of each series of each rule (inactive, pending, firing, resolved, nodata), kept '
  'so that a restart neither forgets a pending alert nor fires one twice.';

-- Alerts: what notifications are about, from the rules and from Alertmanager, one per fingerprint.

create table if not exists alerting.alerts (
  fingerprint text not null,
  alertname text not null,
  labels jsonb not null,
  annotations jsonb not null default '{}'::jsonb,
  status text not null,
  starts_at timestamptz not null,
  ends_at timestamptz,
  value double precision,
  sources text[] not null,
  generator_url text,
  muted_by text,
  updated_at timestamptz not null default now(),
  constraint alerts_pkey primary key (fingerprint),
  constraint alerts_muted_by_check check (muted_by in ('silence', 'inhibition')),
  constraint alerts_fingerprint_check check (fingerprint ~ '^[0-9a-f]{16}$'),
  constraint alerts_status_check check (status in ('firing', 'resolved')),
  constraint alerts_sources_check check (sources <@ array['rule', 'alertmanager']::text[]
    and cardinality(sources) > 0),
  constraint alerts_resolved_check check ((status = 'resolved') = (ends_at is not null))
);
comment on column alerting.alerts.muted_by is
  'What muted the alert at the last evaluation (a silence, or inhibition by a firing cause).';
comment on table alerting.alerts is
  'Firing alerts, and resolved ones until their resolution is notified; one row per fingerprint '
  '(Prometheus-compatible), whichever source (rule, alertmanager) reported it.';

-- History: every state change, newest first with keyset pagination on (at, id). --------------------

create table if not exists alerting.history (
  id bigint generated always as identity,
  at timestamptz not null,
  fingerprint text not null,
  alertname text not null,
  labels jsonb not null,
  from_state text not null,
  to_state text not null,
  value double precision,
  source text not null,
  constraint history_pkey primary key (id),
  constraint history_source_check check (source in ('rule', 'alertmanager'))
);
comment on table alerting.history is 'Every state change of every alert, from both sources.';
create index if not exists history_at_id_idx on alerting.history (at desc, id desc);
comment on index alerting.history_at_id_idx is
  'Serves GET /alerts/history: newest first, keyset pagination on (at, id).';
create index if not exists history_fingerprint_at_idx on alerting.history (fingerprint, at desc);
comment on index alerting.history_fingerprint_at_idx is 'Serves the history of one alert.';

-- Samples: the values each series saw, for rolling windows and counter increases. ---------------

create table if not exists alerting.samples (
  rule text not null,
  fingerprint text not null,
  at timestamptz not null,
  value double precision,
  raw double precision,
  raw_denominator double precision,
  constraint samples_pkey primary key (rule, fingerprint, at)
);
comment on table alerting.samples is
  'Per evaluated instant and series: the value the rule judged and, for increase_over signals, '
  'the running totals it was computed from. Kept a day (alerting.purge).';
comment on index alerting.samples_pkey is
  'Serves the rolling window of a series (rule, fingerprint, at > instant - window).';

-- Groups: Alertmanager's notification groups. ---------------------------------------------------

create table if not exists alerting.groups (
  group_key text not null,
  labels jsonb not null,
  created_at timestamptz not null,
  last_notified_at timestamptz,
  notified_firing text[] not null default '{}',
  constraint groups_pkey primary key (group_key)
);
comment on table alerting.groups is
  'Notification groups (route group_by labels): when each started, was last notified and with '
  'which firing alerts, for group_wait, group_interval and repeat_interval.';

-- Silences. ----------------------------------------------------------------------------------------

create table if not exists alerting.silences (
  id uuid not null default gen_random_uuid(),
  matchers jsonb not null,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  created_by text not null,
  comment text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint silences_pkey primary key (id),
  constraint silences_window_check check (ends_at > starts_at),
  constraint silences_matchers_check
    check (jsonb_typeof(matchers) = 'array' and jsonb_array_length(matchers) between 1 and 50),
  constraint silences_comment_check check (char_length(comment) between 1 and 1000),
  constraint silences_created_by_check check (char_length(created_by) between 1 and 200)
);
comment on table alerting.silences is
  'Silences in Alertmanager''s matcher syntax ([{name, operator, value}]): alerts matching every '
  'matcher are not notified between starts_at and ends_at (maintenance windows, known holidays).';
create index if not exists silences_ends_at_idx on alerting.silences (ends_at);
comment on index alerting.silences_ends_at_idx is 'Serves the active silences (ends_at > now).';

-- Evaluations: one row per instant evaluated, so an instant is never evaluated twice. ------------

create table if not exists alerting.evaluations (
  instant timestamptz not null,
  started_at timestamptz not null default clock_timestamp(),
  duration_ms double precision,
  replayed integer not null default 0,
  notifications integer not null default 0,
  constraint evaluations_pkey primary key (instant)
);
comment on table alerting.evaluations is
  'Instants evaluated (minute boundaries): inserted in the evaluation''s transaction, so a second '
  'evaluator of the same instant finds it and does nothing.';

create table if not exists alerting.rule_status (
  rule text not null,
  kind text not null,
  last_instant timestamptz,
  last_duration_ms double precision,
  series integer not null default 0,
  firing integer not null default 0,
  health text not null default 'unknown',
  last_error text,
  constraint rule_status_pkey primary key (rule),
  constraint rule_status_health_check check (health in ('ok', 'error', 'skipped', 'unknown'))
);
comment on table alerting.rule_status is
  'Each rule''s last evaluation: when, how long, its series and firing counts, and its health.';

create table if not exists alerting.notifications (
  message_id text not null,
  group_key text not null,
  status text not null,
  alerts integer not null,
  queued integer not null,
  at timestamptz not null,
  constraint notifications_pkey primary key (message_id)
);
comment on table alerting.notifications is
  'Every notification the service published (one per group and instant) and how many outbox '
  'messages notify.publish queued for it.';
create index if not exists notifications_at_idx on alerting.notifications (at desc);
comment on index alerting.notifications_at_idx is 'Serves the latest notifications and the purge.';

-- Security: RLS on, the service role writes, admins read. ---------------------------------------

do $$
declare
  v_table text;
begin
  foreach v_table in array array['series', 'alerts', 'history', 'samples', 'groups', 'silences',
    'evaluations', 'rule_status', 'notifications']
  loop
    execute format('alter table alerting.%I enable row level security', v_table);
    execute format('revoke all on table alerting.%I from public', v_table);
    execute format('grant select, insert, update, delete on table alerting.%I to service_role',
      v_table);
    if exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
      execute format('revoke all on table alerting.%I from anon, authenticated', v_table);
      execute format('grant select on table alerting.%I to authenticated', v_table);
      execute format('drop policy if exists %I on alerting.%I', v_table || '_admin_read', v_table);
      execute format('create policy %I on alerting.%I for select to authenticated '
        'using ((select private.is_admin()))', v_table || '_admin_read', v_table);
    end if;
  end loop;
end
$$;
grant usage on all sequences in schema alerting to service_role;

create or replace function alerting.purge(p_keep_samples interval default interval '1 day',
  p_keep_history interval default interval '90 days')
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_count bigint := 0;
  v_n bigint;
begin
  delete from alerting.samples s where s.at < now() - p_keep_samples;
  get diagnostics v_n = row_count;
  v_count := v_count + v_n;
  delete from alerting.history h where h.at < now() - p_keep_history;
  get diagnostics v_n = row_count;
  v_count := v_count + v_n;
  delete from alerting.evaluations e where e.instant < now() - p_keep_history;
  get diagnostics v_n = row_count;
  v_count := v_count + v_n;
  delete from alerting.notifications n where n.at < now() - p_keep_history;
  get diagnostics v_n = row_count;
  v_count := v_count + v_n;
  delete from alerting.silences s where s.ends_at < now() - p_keep_history;
  get diagnostics v_n = row_count;
  return v_count + v_n;
end
$$;
comment on function alerting.purge(interval, interval) is
  'Deletes samples older than p_keep_samples and history, evaluations, notifications and expired '
  'silences older than p_keep_history; returns the rows deleted.';
revoke all on function alerting.purge(interval, interval) from public;
grant execute on function alerting.purge(interval, interval) to service_role;

insert into private.scheduled_jobs (name, schedule, command, description) values
  ('evaluate-alerts', '* * * * *', $$select private.invoke_function('alerts', '/evaluate')$$,
    'Evaluates the alert rules for the current minute (catching up missed instants without a storm).'),
  ('purge-alerting', '27 * * * *', $$select alerting.purge(interval '1 day', interval '90 days')$$,
    'Keeps a day of rule samples and 90 days of alert history.')
on conflict (name) do update
  set schedule = excluded.schedule, command = excluded.command,
    description = excluded.description;
