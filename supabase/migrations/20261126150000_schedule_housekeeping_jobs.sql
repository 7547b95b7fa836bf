-- Housekeeping of the order and rate-limit tables, as rows of the one job registry
-- (private.scheduled_jobs: pg_cron where it runs here, the dev scheduler elsewhere).

insert into private.scheduled_jobs (name, schedule, command, description) values
  ('purge-idempotency-keys', '41 * * * *',
    $$select private.purge_idempotency_keys(interval '1 day')$$,
    'Idempotency keys protect retries for a day; hourly purge keeps the table small.'),
  ('purge-rate-limit-counters', '*/10 * * * *',
    $$select rate_limit.purge_expired()$$,
    'Drops rate-limit windows and buckets that can no longer affect a decision.')
on conflict (name) do update
  set schedule = excluded.schedule, command = excluded.command,
    description = excluded.description;
