-- Delivery on a schedule and the outbox's scrape-time metrics.
--
-- The notify-deliver job asks the notifications function to deliver due messages every minute
-- (requests that enqueue also ask it at once, through EdgeRuntime.waitUntil). pg_cron can only run
-- SQL: on hosted Supabase private.invoke_function() reaches the function with pg_net, using the
-- project URL and service key kept in Vault; without pg_net (plain Postgres, PGlite) it does nothing
-- and the local dev stack invokes the function itself from the same job row.

create or replace function private.invoke_function(p_function text, p_path text)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_url text;
  v_key text;
  v_request bigint;
begin
  if p_function !~ '^[a-z][a-z0-9_-]{0,62}$' or p_path !~ '^/[A-Za-z0-9/_-]{0,200}$' then
    raise exception 'malformed function % or path %', p_function, p_path
      using errcode = 'invalid_parameter_value';
  end if;
  if to_regclass('vault.decrypted_secrets') is null
     or to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is null then
    return null;
  end if;
  execute $q$select max(s.decrypted_secret) filter (where s.name = 'comptoir_project_url'),
                    max(s.decrypted_secret) filter (where s.name = 'comptoir_service_role_key')
             from vault.decrypted_secrets s
             where s.name in ('comptoir_project_url', 'comptoir_service_role_key')$q$
    into v_url, v_key;
  if v_url is null or v_key is null then
    raise warning 'invoke_function: set the Vault secrets comptoir_project_url and comptoir_service_role_key';
    return null;
  end if;
  execute 'select net.http_post($1, $2, $3, $4, $5)'
    into v_request
    using rtrim(v_url, '/') || '/functions/v1/' || p_function || p_path, '{}'::jsonb, '{}'::jsonb,
      pg_catalog.jsonb_build_object('content-type', 'application/json',
                                    'authorization', 'Bearer ' || v_key),
      10000;
  return v_request;
end
$$;
comment on function private.invoke_function(text, text) is
  'POSTs to <project>/functions/v1/<p_function><p_path> with pg_net and the service key (Vault '
  'secrets comptoir_project_url, comptoir_service_role_key); returns the pg_net request id, or null '
  'where pg_net or Vault is absent (the dev stack then invokes scheduled functions itself).';
revoke all on function private.invoke_function(text, text)
from public, anon, authenticated, service_role;

insert into private.scheduled_jobs (name, schedule, command, description) values
  ('notify-deliver', '* * * * *', $$select private.invoke_function('notifications', '/deliver')$$,
    'Delivers due notifications (retries, and what no request delivered at once).')
on conflict (name) do update
  set schedule = excluded.schedule, command = excluded.command,
    description = excluded.description;

-- Metrics ------------------------------------------------------------------------------------------

create table if not exists notify.purged_counts (
  channel text not null,
  messages bigint not null default 0,
  constraint purged_counts_pkey primary key (channel),
  constraint purged_counts_channel_check
    check (channel in ('slack', 'email', 'webhook', 'pagerduty'))
);
comment on table notify.purged_counts is
  'Messages notify.purge() deleted per channel, so the enqueued total stays monotonic.';
alter table notify.purged_counts enable row level security;
revoke all on table notify.purged_counts from public, anon, authenticated;
grant select on table notify.purged_counts to service_role;

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
    returning m.channel
  ),
  counted as (
    insert into notify.purged_counts as p (channel, messages)
    select g.channel, count(*) from gone g group by g.channel
    on conflict (channel) do update set messages = p.messages + excluded.messages
    returning excluded.messages
  )
  select coalesce(sum(c.messages), 0)::bigint into v_count from counted c;
  return v_count;
end
$$;
comment on function notify.purge() is
  'Deletes delivered messages older than keep_delivered and dead ones older than keep_dead, with '
  'their attempts, and adds them to notify.purged_counts; returns how many messages.';

create or replace function notify.scrape()
returns table (name text, labels jsonb, value double precision)
language sql
stable
security definer
set search_path = ''
as $$
  with channels(channel) as (values ('slack'), ('email'), ('webhook'), ('pagerduty')),
  per_channel as (
    select c.channel,
      (select count(*) from notify.messages m where m.channel = c.channel)
        + coalesce((select p.messages from notify.purged_counts p where p.channel = c.channel), 0)
        as enqueued,
      (select count(*) from notify.messages m
        where m.channel = c.channel and m.status in ('pending', 'sending', 'failed')) as backlog,
      (select count(*) from notify.messages m
        where m.channel = c.channel and m.status = 'dead') as dead,
      (select extract(epoch from now() - min(m.created_at)) from notify.messages m
        where m.channel = c.channel and m.status in ('pending', 'sending', 'failed')) as oldest
    from channels c
  )
  select 'comptoir_notifications_enqueued_total'::text,
         pg_catalog.jsonb_build_object('channel', p.channel), p.enqueued::double precision
  from per_channel p
  union all
  select 'comptoir_notifications_backlog'::text,
         pg_catalog.jsonb_build_object('channel', p.channel), p.backlog::double precision
  from per_channel p
  union all
  select 'comptoir_notifications_dead_letters'::text,
         pg_catalog.jsonb_build_object('channel', p.channel), p.dead::double precision
  from per_channel p
  union all
  select 'comptoir_notifications_oldest_pending_age_seconds'::text,
         pg_catalog.jsonb_build_object('channel', p.channel),
         greatest(coalesce(p.oldest, 0), 0)::double precision
  from per_channel p
$$;
comment on function notify.scrape() is
  'The outbox gauges the metrics function reads at each scrape, per channel: messages enqueued '
  'ever (a counter: the table plus what retention purged), undelivered backlog, dead letters, '
  'and the age of the oldest undelivered message (0 when none).';

revoke all on function notify.scrape() from public, anon, authenticated;
grant execute on function notify.scrape() to service_role;
