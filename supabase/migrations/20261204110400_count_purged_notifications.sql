-- notify.purge() of 20261204110200 returned excluded.messages from its upsert, which Postgres
-- refuses (EXCLUDED is only visible in the DO UPDATE clause): retention failed on its first
-- purged row. The count now comes from the deleted rows themselves.

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
  per_channel as (
    select g.channel, count(*) as messages from gone g group by g.channel
  ),
  counted as (
    insert into notify.purged_counts as p (channel, messages)
    select c.channel, c.messages from per_channel c
    on conflict (channel) do update set messages = p.messages + excluded.messages
    returning p.channel
  )
  select coalesce(sum(c.messages), 0)::bigint into v_count
  from per_channel c
  where exists (select 1 from counted);
  return v_count;
end
$$;
comment on function notify.purge() is
  'Deletes delivered messages older than keep_delivered and dead ones older than keep_dead, with '
  'their attempts, and adds them to notify.purged_counts; returns how many messages.';
