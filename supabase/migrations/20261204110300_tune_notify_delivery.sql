-- Delivery tuning the notifications function reads from notify.settings (retry backoff, sender
-- address), notify.release() for messages a worker hands back unsent, and attempt limits that let
-- a channel be down for hours: 40 attempts with backoff capped at 30 minutes span about 8 hours,
-- inside the 24-hour maximum age.

alter table notify.settings add column if not exists retry_base_ms integer not null default 5000;
alter table notify.settings add column if not exists retry_max_ms integer not null default 1800000;
alter table notify.settings add column if not exists email_from text not null
  default 'Comptoir <notifications@comptoir.invalid>';
do $$
begin
  alter table notify.settings add constraint settings_retry_check
    check (retry_base_ms between 10 and 3600000 and retry_max_ms between retry_base_ms and 86400000);
exception
  when duplicate_object then null;
end
$$;
do $$
begin
  alter table notify.settings add constraint settings_email_from_check
    check (char_length(email_from) between 3 and 320 and email_from like '%@%');
exception
  when duplicate_object then null;
end
$$;
comment on column notify.settings.retry_base_ms is
  'First retry delay before jitter (full jitter, doubling per attempt, up to retry_max_ms).';
comment on column notify.settings.retry_max_ms is 'Largest retry delay; a Retry-After may ask for more.';
comment on column notify.settings.email_from is
  'Sender of notification emails (a domain verified with Resend); config/notifications.json.';

alter table notify.settings alter column max_attempts set default 40;
update notify.settings set max_attempts = 40 where id and max_attempts = 12;

create or replace function notify.release(p_id uuid, p_worker text, p_at timestamptz default null)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  update notify.messages m
  set status = case when m.attempts > 1 then 'failed' else 'pending' end,
      attempts = greatest(m.attempts - 1, 0),
      lease_owner = null,
      lease_until = null,
      next_attempt_at = greatest(coalesce(p_at, now()), now()),
      updated_at = now()
  where m.id = p_id and m.status = 'sending' and m.lease_owner = p_worker;
  return found;
end
$$;
comment on function notify.release(uuid, text, timestamptz) is
  'Hands a claimed message back unsent (a rate limit said wait, or the run''s time is up): it is '
  'due again at p_at and the claim does not count as an attempt. False if p_worker lost it.';

revoke all on function notify.release(uuid, text, timestamptz) from public, anon, authenticated;
grant execute on function notify.release(uuid, text, timestamptz) to service_role;
