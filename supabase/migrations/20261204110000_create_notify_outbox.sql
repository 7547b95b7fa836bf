-- The notifications outbox: messages queued inside the caller's transaction, delivered later by the
-- notifications function (Slack, email through Resend, Standard Webhooks, PagerDuty).
--
-- notify.enqueue() queues one message; notify.publish() routes an event to every destination whose
-- route matches. Both run in the caller's transaction, so a rolled-back transaction queues nothing.
-- Workers claim due messages with FOR UPDATE SKIP LOCKED under a lease (notify.claim), send them,
-- and record the outcome (notify.settle): delivered, retried later, or dead-lettered. Destinations
-- and routes come from config/notifications.json (synced by `deno task notify:sync`); the rows
-- hold only the names of the environment variables that carry secrets, never a secret.

create schema if not exists notify;
comment on schema notify is
  'Notifications outbox: messages, their attempts, templates, destinations and routes.';
revoke all on schema notify from public;
grant usage on schema notify to service_role;

-- Settings -----------------------------------------------------------------------------------------

create table if not exists notify.settings (
  id boolean not null default true,
  max_attempts integer not null default 12,
  max_age interval not null default interval '24 hours',
  lease interval not null default interval '60 seconds',
  max_payload_bytes integer not null default 65536,
  keep_delivered interval not null default interval '7 days',
  keep_dead interval not null default interval '30 days',
  constraint settings_pkey primary key (id),
  constraint settings_id_check check (id),
  constraint settings_max_attempts_check check (max_attempts between 1 and 1000),
  constraint settings_max_age_check check (max_age between interval '1 minute' and interval '30 days'),
  constraint settings_lease_check check (lease between interval '5 seconds' and interval '1 hour'),
  constraint settings_max_payload_bytes_check check (max_payload_bytes between 1024 and 1048576),
  constraint settings_keep_delivered_check check (keep_delivered >= interval '1 hour'),
  constraint settings_keep_dead_check check (keep_dead >= interval '1 day')
);
comment on table notify.settings is
  'Delivery limits; one row. Changes apply to the next enqueue, claim or settle.';
comment on column notify.settings.max_attempts is 'Attempts before a failing message is dead.';
comment on column notify.settings.max_age is
  'How long a message may keep failing (from enqueue, or from a manual retry) before it is dead.';
comment on column notify.settings.lease is
  'How long a claimed message stays with its worker; past it another worker may claim it.';
comment on column notify.settings.max_payload_bytes is 'Largest payload enqueue accepts (JSON text).';
comment on column notify.settings.keep_delivered is 'Delivered messages are purged after this.';
comment on column notify.settings.keep_dead is 'Dead messages are purged after this.';
alter table notify.settings enable row level security;
revoke all on table notify.settings from public, anon, authenticated;
grant select, update on table notify.settings to service_role;
insert into notify.settings (id) values (true) on conflict (id) do nothing;

-- Templates, destinations, routes ------------------------------------------------------------------

create table if not exists notify.templates (
  name text not null,
  channels text[] not null,
  required text[] not null default '{}',
  description text not null default '',
  constraint templates_pkey primary key (name),
  constraint templates_name_check check (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  constraint templates_channels_check
    check (channels <@ array['slack', 'email', 'webhook', 'pagerduty'] and cardinality(channels) > 0)
);
comment on table notify.templates is
  'Templates the notifications function renders (its templates/ folder is the source; '
  '`deno task notify:sync` writes these rows): the channels each supports and the payload keys '
  'it needs, checked at enqueue.';
comment on column notify.templates.required is 'Top-level payload keys that must be present and not null.';
alter table notify.templates enable row level security;
revoke all on table notify.templates from public, anon, authenticated;
grant select on table notify.templates to service_role;

insert into notify.templates (name, channels, required, description) values
  ('alert.firing', array['slack', 'email', 'webhook', 'pagerduty'],
    array['group_key', 'status', 'alerts'], 'An alert group that fires.'),
  ('alert.resolved', array['slack', 'email', 'webhook', 'pagerduty'],
    array['group_key', 'status', 'alerts'], 'An alert group that resolved.'),
  ('order.confirmation', array['email', 'slack', 'webhook'],
    array['order', 'items', 'customer'], 'Order confirmation to the customer (or the team).'),
  ('stock.low', array['slack', 'email', 'webhook'],
    array['product', 'available', 'threshold'], 'A product''s available stock crossed its threshold.')
on conflict (name) do nothing;

create table if not exists notify.destinations (
  channel text not null,
  name text not null,
  locale text not null default 'en',
  config jsonb not null default '{}'::jsonb,
  constraint destinations_pkey primary key (channel, name),
  constraint destinations_channel_check
    check (channel in ('slack', 'email', 'webhook', 'pagerduty')),
  constraint destinations_name_check check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  constraint destinations_locale_check check (locale in ('en', 'fr')),
  constraint destinations_config_check check (jsonb_typeof(config) = 'object')
);
comment on table notify.destinations is
  'Named destinations per channel, from config/notifications.json. config names the environment '
  'variables that hold secrets (webhook URLs, signing secrets, routing keys); never a secret.';
alter table notify.destinations enable row level security;
revoke all on table notify.destinations from public, anon, authenticated;
grant select on table notify.destinations to service_role;

-- The defaults of config/notifications.json, so that enqueue works before the first sync.
insert into notify.destinations (channel, name, locale, config) values
  ('slack', 'ops', 'en', '{"url_env": "COMPTOIR_NOTIFY_SLACK_OPS_URL"}'),
  ('email', 'ops', 'en', '{"to": ["ops@comptoir.invalid"]}'),
  ('pagerduty', 'oncall', 'en', '{"routing_key_env": "COMPTOIR_NOTIFY_PAGERDUTY_ONCALL_KEY"}')
on conflict (channel, name) do nothing;

create table if not exists notify.routes (
  name text not null,
  event text not null,
  channel text not null,
  destination text,
  destination_path text[],
  template text not null,
  match jsonb not null default '{}'::jsonb,
  enabled boolean not null default true,
  constraint routes_pkey primary key (name),
  constraint routes_name_check check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  constraint routes_event_check check (event ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
  constraint routes_channel_check check (channel in ('slack', 'email', 'webhook', 'pagerduty')),
  constraint routes_destination_check check ((destination is null) <> (destination_path is null)),
  constraint routes_match_check check (jsonb_typeof(match) = 'object')
);
comment on table notify.routes is
  'Which events go where, from config/notifications.json: an event reaches every enabled route of '
  'that event whose match holds for the attributes given to notify.publish().';
comment on column notify.routes.destination is 'A named destination of the channel, or an address.';
comment on column notify.routes.destination_path is
  'Instead of destination: where in the payload the address is (e.g. {customer,email}).';
comment on column notify.routes.match is
  'Attribute conditions: {"severity": "critical"} (equal) or {"severity": ["critical", "warning"]} '
  '(one of). Empty: every event of the kind.';
alter table notify.routes enable row level security;
revoke all on table notify.routes from public, anon, authenticated;
grant select on table notify.routes to service_role;

insert into notify.routes (name, event, channel, destination, destination_path, template, match) values
  ('alerts-slack-firing', 'alert.firing', 'slack', 'ops', null, 'alert.firing', '{}'),
  ('alerts-slack-resolved', 'alert.resolved', 'slack', 'ops', null, 'alert.resolved', '{}'),
  ('alerts-pagerduty-firing', 'alert.firing', 'pagerduty', 'oncall', null, 'alert.firing',
    '{"severity": "critical"}'),
  ('alerts-pagerduty-resolved', 'alert.resolved', 'pagerduty', 'oncall', null, 'alert.resolved',
    '{"severity": "critical"}'),
  ('orders-confirmation-email', 'order.placed', 'email', null, array['customer', 'email'],
    'order.confirmation', '{}'),
  ('stock-low-slack', 'stock.low', 'slack', 'ops', null, 'stock.low', '{}')
on conflict (name) do nothing;

-- Messages ----------------------------------------------------------------------------------------

create table if not exists notify.messages (
  id uuid not null default gen_random_uuid(),
  seq bigint generated always as identity,
  message_id text not null,
  channel text not null,
  destination text not null,
  template text not null,
  locale text not null default 'en',
  payload jsonb not null,
  event text,
  ordering_key text,
  status text not null default 'pending',
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  expires_at timestamptz not null,
  lease_owner text,
  lease_until timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  delivered_at timestamptz,
  constraint messages_pkey primary key (id),
  constraint messages_message_id_key unique (message_id),
  constraint messages_message_id_check check (message_id ~ '^[[:graph:]]{1,200}$'),
  constraint messages_channel_check check (channel in ('slack', 'email', 'webhook', 'pagerduty')),
  constraint messages_status_check
    check (status in ('pending', 'sending', 'delivered', 'failed', 'dead')),
  constraint messages_locale_check check (locale in ('en', 'fr')),
  constraint messages_ordering_key_check check (char_length(ordering_key) between 1 and 200),
  constraint messages_attempts_check check (attempts >= 0),
  constraint messages_lease_check check ((status = 'sending') = (lease_until is not null))
);
comment on table notify.messages is
  'The outbox: one row per notification to one destination. pending: never tried (or retried by '
  'hand); sending: leased by a worker; failed: will be tried again at next_attempt_at; delivered; '
  'dead: gave up (permanent error, too many attempts or too old), retryable with notify.retry().';
comment on column notify.messages.seq is 'Enqueue order: messages of one ordering key go out by seq.';
comment on column notify.messages.message_id is
  'Stable id: the caller''s message id (a repeat queues nothing) or the row id. Sent as the webhook-id, '
  'Resend''s Idempotency-Key and Slack/PagerDuty dedup keys, unchanged across retries.';
comment on column notify.messages.destination is
  'A named destination of the channel (notify.destinations) or, for email, an address.';
comment on column notify.messages.ordering_key is
  'Messages with one key to one destination go out one at a time, in enqueue order.';
comment on column notify.messages.attempts is 'Claims so far (a crashed worker''s claim counts).';
comment on column notify.messages.expires_at is 'Past this a failing message is dead, not retried.';
comment on column notify.messages.lease_owner is 'Claim token of the worker holding the message.';
comment on column notify.messages.last_error is 'Why the last attempt failed (no secret, no URL).';
alter table notify.messages enable row level security;
revoke all on table notify.messages from public, anon, authenticated;
grant select on table notify.messages to service_role;

create index if not exists messages_due_idx on notify.messages (next_attempt_at, seq)
  where status in ('pending', 'failed');
comment on index notify.messages_due_idx is 'notify.claim(): the due messages, oldest first.';
create index if not exists messages_lease_until_idx on notify.messages (lease_until)
  where status = 'sending';
comment on index notify.messages_lease_until_idx is
  'notify.claim(): messages whose worker''s lease ran out.';
create index if not exists messages_ordering_idx
  on notify.messages (channel, destination, ordering_key, seq)
  where ordering_key is not null and status in ('pending', 'sending', 'failed');
comment on index notify.messages_ordering_idx is
  'notify.claim(): whether an earlier message of the same key and destination is still undelivered.';
create index if not exists messages_status_created_at_idx on notify.messages (status, created_at);
comment on index notify.messages_status_created_at_idx is
  'Retention (notify.purge), the dead-letter list and the age of the oldest pending message.';

create table if not exists notify.attempts (
  message uuid not null,
  attempt integer not null,
  worker text not null,
  started_at timestamptz not null,
  finished_at timestamptz not null default now(),
  outcome text not null,
  http_status integer,
  error text,
  retry_at timestamptz,
  constraint attempts_pkey primary key (message, attempt, worker),
  constraint attempts_message_fkey foreign key (message)
    references notify.messages (id) on delete cascade,
  constraint attempts_outcome_check
    check (outcome in ('delivered', 'retry', 'permanent', 'lease_lost'))
);
comment on table notify.attempts is
  'Every delivery attempt of a message: who tried, when, the HTTP status and the error.';
comment on column notify.attempts.outcome is
  'delivered; retry (temporary failure); permanent (will never succeed); lease_lost (the worker '
  'answered after its lease ran out and another worker had the message).';
alter table notify.attempts enable row level security;
revoke all on table notify.attempts from public, anon, authenticated;
grant select on table notify.attempts to service_role;

-- Enqueue -----------------------------------------------------------------------------------------

create or replace function notify.enqueue_message(
  p_channel text,
  p_destination text,
  p_template text,
  p_payload jsonb,
  p_ordering_key text,
  p_message_id text,
  p_event text,
  out id uuid,
  out queued boolean
)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_settings notify.settings;
  v_template notify.templates;
  v_locale text;
  v_missing text[];
  v_bytes integer;
  v_id uuid;
begin
  if p_channel is null or p_channel not in ('slack', 'email', 'webhook', 'pagerduty') then
    raise exception 'unknown channel %', coalesce(p_channel, 'null')
      using errcode = 'invalid_parameter_value',
        hint = 'channel is one of slack, email, webhook, pagerduty';
  end if;
  select t.* into v_template from notify.templates t where t.name = p_template;
  if not found then
    raise exception 'unknown template %', coalesce(p_template, 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  if not (p_channel = any (v_template.channels)) then
    raise exception 'template % has no % version', p_template, p_channel
      using errcode = 'invalid_parameter_value';
  end if;

  if p_destination is null then
    raise exception 'destination is required' using errcode = 'invalid_parameter_value';
  end if;
  select d.locale into v_locale
  from notify.destinations d
  where d.channel = p_channel and d.name = p_destination;
  if not found then
    if p_channel = 'email' and p_destination ~ '^[^@[:space:]<>",;]+@[^@[:space:]<>",;]+\.[^@[:space:]<>",;]+$'
       and char_length(p_destination) <= 320 then
      v_locale := 'en';
    else
      raise exception 'unknown % destination %', p_channel, p_destination
        using errcode = 'invalid_parameter_value',
          hint = case when p_channel = 'email' then 'name a destination of config/notifications.json or give an address'
                 else 'name a destination of config/notifications.json' end;
    end if;
  end if;

  if p_payload is null or jsonb_typeof(p_payload) <> 'object' then
    raise exception 'payload must be a JSON object' using errcode = 'invalid_parameter_value';
  end if;
  select s.* into v_settings from notify.settings s where s.id;
  v_bytes := octet_length(p_payload::text);
  if v_bytes > v_settings.max_payload_bytes then
    raise exception 'payload of % bytes is over the limit of % bytes', v_bytes, v_settings.max_payload_bytes
      using errcode = 'program_limit_exceeded';
  end if;
  select array_agg(k order by k) into v_missing
  from unnest(v_template.required) k
  where p_payload -> k is null or p_payload -> k = 'null'::jsonb;
  if v_missing is not null then
    raise exception 'template % needs payload keys %', p_template, array_to_string(v_missing, ', ')
      using errcode = 'invalid_parameter_value';
  end if;
  if p_payload ? 'locale' then
    if p_payload ->> 'locale' not in ('en', 'fr') then
      raise exception 'unknown locale %', p_payload ->> 'locale'
        using errcode = 'invalid_parameter_value', hint = 'locale is en or fr';
    end if;
    v_locale := p_payload ->> 'locale';
  end if;
  if p_ordering_key is not null and char_length(p_ordering_key) not between 1 and 200 then
    raise exception 'ordering key must have 1 to 200 characters' using errcode = 'invalid_parameter_value';
  end if;
  if p_message_id is not null and p_message_id !~ '^[[:graph:]]{1,200}$' then
    raise exception 'message id must be 1 to 200 visible characters without spaces'
      using errcode = 'invalid_parameter_value';
  end if;

  v_id := gen_random_uuid();
  insert into notify.messages as m (id, message_id, channel, destination, template, locale, payload,
                                    event, ordering_key, expires_at)
  values (v_id, coalesce(p_message_id, v_id::text), p_channel, p_destination, p_template, v_locale,
          p_payload, p_event, p_ordering_key, now() + v_settings.max_age)
  on conflict (message_id) do nothing;
  queued := found;
  if not queued then
    -- The same message was queued before (a retried transaction, a repeated alert): keep the first.
    select m.id into v_id from notify.messages m where m.message_id = p_message_id;
  end if;
  id := v_id;
end
$$;
comment on function notify.enqueue_message(text, text, text, jsonb, text, text, text) is
  'Checks and queues one message (notify.enqueue and notify.publish call it): its id, and whether '
  'it was queued now (false: a message of that p_message_id was queued before).';

create or replace function notify.enqueue(
  p_channel text,
  p_destination text,
  p_template text,
  p_payload jsonb,
  p_ordering_key text default null,
  p_message_id text default null
)
returns uuid
language sql
volatile
security definer
set search_path = ''
as $$
  select e.id
  from notify.enqueue_message(p_channel, p_destination, p_template, p_payload, p_ordering_key,
                              p_message_id, null) e
$$;
comment on function notify.enqueue(text, text, text, jsonb, text, text) is
  'Queues one message in the caller''s transaction and returns its id. p_destination is a named '
  'destination of the channel or, for email, an address. A repeated p_message_id queues nothing '
  'and returns the first message''s id. Bad input raises 22023 (54000 for an oversize payload).';

create or replace function notify.publish(
  p_event text,
  p_payload jsonb,
  p_attributes jsonb default '{}'::jsonb,
  p_ordering_key text default null,
  p_message_id text default null
)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_route record;
  v_destination text;
  v_count integer := 0;
begin
  if p_event is null or p_event !~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' then
    raise exception 'malformed event name %', coalesce(p_event, 'null')
      using errcode = 'invalid_parameter_value', hint = 'events look like alert.firing or order.placed';
  end if;
  if p_attributes is null or jsonb_typeof(p_attributes) <> 'object' then
    raise exception 'attributes must be a JSON object' using errcode = 'invalid_parameter_value';
  end if;
  if p_message_id is not null and char_length(p_message_id) > 160 then
    raise exception 'message id of an event must have at most 160 characters'
      using errcode = 'invalid_parameter_value';
  end if;
  for v_route in
    select r.name, r.channel, r.destination, r.destination_path, r.template
    from notify.routes r
    where r.enabled and r.event = p_event
      and not exists (
        select 1 from jsonb_each(r.match) c(key, value)
        where not coalesce(
          case when jsonb_typeof(c.value) = 'array'
            then c.value @> jsonb_build_array(p_attributes -> c.key)
            else p_attributes -> c.key = c.value
          end, false)
      )
    order by r.name
  loop
    v_destination := coalesce(v_route.destination, p_payload #>> v_route.destination_path);
    if v_destination is null then
      raise notice 'notify: route % skipped, payload has no %', v_route.name,
        array_to_string(v_route.destination_path, '.');
      continue;
    end if;
    if (notify.enqueue_message(v_route.channel, v_destination, v_route.template, p_payload,
                               p_ordering_key, p_message_id || '/' || v_route.name, p_event)).queued
    then
      v_count := v_count + 1;
    end if;
  end loop;
  return v_count;
end
$$;
comment on function notify.publish(text, jsonb, jsonb, text, text) is
  'Routes event p_event to every enabled route of it whose match holds for p_attributes (severity, '
  'team, ...) and queues one message each; returns how many it queued. With p_message_id, each '
  'message''s id is p_message_id/<route>, so a repeated event queues nothing twice (returns 0).';

-- Delivery ----------------------------------------------------------------------------------------

create or replace function notify.claim(p_worker text, p_limit integer default 50)
returns setof notify.messages
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_lease interval;
begin
  if p_worker is null or char_length(p_worker) not between 1 and 200 then
    raise exception 'worker token must have 1 to 200 characters' using errcode = 'invalid_parameter_value';
  end if;
  if p_limit is null or p_limit not between 1 and 1000 then
    raise exception 'limit must be between 1 and 1000' using errcode = 'invalid_parameter_value';
  end if;
  select s.lease into v_lease from notify.settings s where s.id;
  return query
  with due as (
    select m.id
    from notify.messages m
    where ((m.status in ('pending', 'failed') and m.next_attempt_at <= now())
           or (m.status = 'sending' and m.lease_until < now()))
      -- Per key and destination, only the oldest undelivered message may go out.
      and (m.ordering_key is null or not exists (
        select 1 from notify.messages e
        where e.ordering_key = m.ordering_key and e.channel = m.channel
          and e.destination = m.destination and e.seq < m.seq
          and e.status in ('pending', 'sending', 'failed')
      ))
    order by m.next_attempt_at, m.seq
    limit p_limit
    for update skip locked
  )
  update notify.messages m
  set status = 'sending', attempts = m.attempts + 1, lease_owner = p_worker,
      lease_until = now() + v_lease, updated_at = now()
  from due
  where m.id = due.id
  returning m.*;
end
$$;
comment on function notify.claim(text, integer) is
  'Leases up to p_limit due messages to worker p_worker (a fresh token per run) and returns them: '
  'pending or failed ones whose time has come, and sending ones whose lease ran out. Concurrent '
  'workers never get the same message (FOR UPDATE SKIP LOCKED); per ordering key and destination '
  'only the oldest undelivered message is handed out.';

create or replace function notify.settle(
  p_id uuid,
  p_worker text,
  p_outcome text,
  p_error text default null,
  p_http_status integer default null,
  p_retry_at timestamptz default null,
  p_started_at timestamptz default null
)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_message notify.messages;
  v_settings notify.settings;
  v_status text;
  v_error text := left(p_error, 2000);
begin
  if p_outcome is null or p_outcome not in ('delivered', 'retry', 'permanent') then
    raise exception 'outcome must be delivered, retry or permanent' using errcode = 'invalid_parameter_value';
  end if;
  select m.* into v_message from notify.messages m where m.id = p_id for update;
  if not found then
    return null;
  end if;
  if v_message.status <> 'sending' or v_message.lease_owner is distinct from p_worker then
    insert into notify.attempts (message, attempt, worker, started_at, outcome, http_status, error)
    values (p_id, v_message.attempts, p_worker, coalesce(p_started_at, now()), 'lease_lost',
            p_http_status, coalesce(v_error, p_outcome))
    on conflict do nothing;
    return 'lease_lost';
  end if;
  select s.* into v_settings from notify.settings s where s.id;
  v_status := case
    when p_outcome = 'delivered' then 'delivered'
    when p_outcome = 'permanent' then 'dead'
    when v_message.attempts >= v_settings.max_attempts then 'dead'
    when greatest(coalesce(p_retry_at, now()), now()) >= v_message.expires_at then 'dead'
    else 'failed'
  end;
  if v_status = 'dead' and p_outcome = 'retry' then
    v_error := case when v_message.attempts >= v_settings.max_attempts
      then format('gave up after %s attempts: %s', v_message.attempts, v_error)
      else format('gave up at the maximum age (%s): %s', v_settings.max_age, v_error) end;
  end if;
  insert into notify.attempts (message, attempt, worker, started_at, outcome, http_status, error,
                               retry_at)
  values (p_id, v_message.attempts, p_worker, coalesce(p_started_at, now()), p_outcome,
          p_http_status, v_error, case when v_status = 'failed' then p_retry_at end)
  on conflict do nothing;
  update notify.messages m
  set status = v_status,
      lease_owner = null,
      lease_until = null,
      last_error = case when v_status = 'delivered' then m.last_error else v_error end,
      next_attempt_at = case when v_status = 'failed' then greatest(coalesce(p_retry_at, now()), now())
                        else m.next_attempt_at end,
      delivered_at = case when v_status = 'delivered' then now() end,
      updated_at = now()
  where m.id = p_id;
  return v_status;
end
$$;
comment on function notify.settle(uuid, text, text, text, integer, timestamptz, timestamptz) is
  'Records the outcome of worker p_worker''s attempt at message p_id: delivered; retry at p_retry_at '
  '(dead past max_attempts or expires_at); permanent (dead). Returns the new status, or lease_lost '
  'when the worker no longer holds the message (the attempt is still recorded).';

-- Operations --------------------------------------------------------------------------------------

create or replace function notify.retry(p_id uuid)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_max_age interval;
begin
  select s.max_age into v_max_age from notify.settings s where s.id;
  update notify.messages m
  set status = 'pending', attempts = 0, next_attempt_at = now(), expires_at = now() + v_max_age,
      updated_at = now()
  where m.id = p_id and m.status in ('dead', 'failed');
  return found;
end
$$;
comment on function notify.retry(uuid) is
  'Queues a dead (or failed) message again now, with fresh attempts and age; false if it is not '
  'dead or failed.';

create or replace function notify.retry_dead(p_channel text default null)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_max_age interval;
  v_count integer;
begin
  select s.max_age into v_max_age from notify.settings s where s.id;
  update notify.messages m
  set status = 'pending', attempts = 0, next_attempt_at = now(), expires_at = now() + v_max_age,
      updated_at = now()
  where m.status = 'dead' and (p_channel is null or m.channel = p_channel);
  get diagnostics v_count = row_count;
  return v_count;
end
$$;
comment on function notify.retry_dead(text) is
  'Queues every dead message (of p_channel, or all) again; returns how many.';

create or replace function notify.purge()
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_settings notify.settings;
  v_count bigint;
begin
  select s.* into v_settings from notify.settings s where s.id;
  with gone as (
    delete from notify.messages m
    where (m.status = 'delivered' and m.delivered_at < now() - v_settings.keep_delivered)
       or (m.status = 'dead' and m.updated_at < now() - v_settings.keep_dead)
    returning 1
  )
  select count(*) into v_count from gone;
  return v_count;
end
$$;
comment on function notify.purge() is
  'Deletes delivered messages older than keep_delivered and dead ones older than keep_dead, with '
  'their attempts; returns how many messages.';

create or replace function notify.backlog()
returns table (channel text, status text, messages bigint, oldest_age_seconds double precision)
language sql
stable
security definer
set search_path = ''
as $$
  select m.channel, m.status, count(*),
         extract(epoch from now() - min(m.created_at))::double precision
  from notify.messages m
  where m.status in ('pending', 'sending', 'failed', 'dead')
  group by m.channel, m.status
$$;
comment on function notify.backlog() is
  'Undelivered messages per channel and status, and the age of the oldest of each.';

revoke all on function
  notify.enqueue_message(text, text, text, jsonb, text, text, text),
  notify.enqueue(text, text, text, jsonb, text, text),
  notify.publish(text, jsonb, jsonb, text, text),
  notify.claim(text, integer),
  notify.settle(uuid, text, text, text, integer, timestamptz, timestamptz),
  notify.retry(uuid),
  notify.retry_dead(text),
  notify.purge(),
  notify.backlog()
from public, anon, authenticated, service_role;
grant execute on function
  notify.enqueue(text, text, text, jsonb, text, text),
  notify.publish(text, jsonb, jsonb, text, text),
  notify.claim(text, integer),
  notify.settle(uuid, text, text, text, integer, timestamptz, timestamptz),
  notify.retry(uuid),
  notify.retry_dead(text),
  notify.purge(),
  notify.backlog()
to service_role;

insert into private.scheduled_jobs (name, schedule, command, description) values
  ('notify-purge', '27 * * * *', $$select notify.purge()$$,
    'Drops delivered notifications after notify.settings.keep_delivered, dead ones after keep_dead.')
on conflict (name) do update
  set schedule = excluded.schedule, command = excluded.command,
    description = excluded.description;
