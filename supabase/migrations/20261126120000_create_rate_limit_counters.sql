-- Rate-limit counters for the Postgres backend of _shared/rate_limit: one unlogged row per policy and identity.

create schema if not exists rate_limit;

comment on schema rate_limit is
  'Rate-limit counters of the Postgres rate-limit backend; reached only through rate_limit.consume().';

revoke all on schema rate_limit from public;

-- Unlogged: counters are worthless after a crash (they restart empty, which only lets a few extra
-- requests through), and skipping the WAL makes each update about three times cheaper.
create unlogged table if not exists rate_limit.counters (
  key text not null,
  algorithm text not null,
  -- sliding/fixed window: start of the current window; token bucket: time of the last refill (ms).
  window_start_ms bigint not null,
  -- sliding/fixed window: requests in the current window; token bucket: tokens left.
  current_count integer not null,
  -- sliding window: requests in the previous window.
  previous_count integer not null default 0,
  expires_at timestamptz not null,
  constraint counters_pkey primary key (key),
  constraint counters_algorithm_check
    check (algorithm in ('sliding_window', 'token_bucket', 'fixed_window'))
);

comment on table rate_limit.counters is
  'Rate-limit state per "<policy>:<identity kind>:<identity>" key; rows past expires_at mean nothing and are reset on use or by rate_limit.purge_expired().';

create index if not exists counters_expires_at_idx on rate_limit.counters (expires_at);

comment on index rate_limit.counters_expires_at_idx is
  'Serves rate_limit.purge_expired(): delete from rate_limit.counters where expires_at < now().';

alter table rate_limit.counters enable row level security;

revoke all on table rate_limit.counters from public;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    revoke all on table rate_limit.counters from anon;
  end if;
  if exists (select 1 from pg_roles where rolname = 'authenticated') then
    revoke all on table rate_limit.counters from authenticated;
  end if;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant usage on schema rate_limit to service_role;
  end if;
end
$$;

create or replace function rate_limit.consume(
  p_key text,
  p_algorithm text,
  p_limit integer,
  p_window_ms bigint,
  p_refill integer default null,
  p_cost integer default 1,
  p_now_ms bigint default null
)
returns table (allowed boolean, remaining integer, reset_at_ms bigint, limit_value integer)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now bigint := coalesce(p_now_ms, floor(extract(epoch from clock_timestamp()) * 1000)::bigint);
  v_refill integer := coalesce(p_refill, p_limit);
  v_row rate_limit.counters%rowtype;
  v_fresh boolean;
  v_start bigint;
  v_current integer;
  v_previous integer := 0;
  v_used integer;
  v_refills bigint;
  v_allowed boolean;
  v_remaining integer;
  v_reset bigint;
  v_expires bigint;
begin
  if p_limit < 1 or p_window_ms < 1 or p_cost < 1 or v_refill < 1 then
    raise exception 'rate_limit.consume: limit, window, refill and cost must be positive'
      using errcode = '22023';
  end if;
  if p_algorithm not in ('sliding_window', 'token_bucket', 'fixed_window') then
    raise exception 'rate_limit.consume: unknown algorithm %', p_algorithm using errcode = '22023';
  end if;

  -- Create the row if needed, then lock it: concurrent requests of one identity queue on the row
  -- lock, so exactly p_limit of them are allowed.
  insert into rate_limit.counters as c
    (key, algorithm, window_start_ms, current_count, previous_count, expires_at)
  values (p_key, p_algorithm, 0, 0, 0, '-infinity')
  on conflict on constraint counters_pkey do nothing;

  select * into strict v_row from rate_limit.counters c where c.key = p_key for update;

  -- A row of another algorithm (the policy changed) or past its expiry starts over.
  v_fresh := v_row.algorithm <> p_algorithm or v_row.expires_at < to_timestamp(v_now / 1000.0);

  if p_algorithm = 'token_bucket' then
    -- Discrete refills, as in @upstash/ratelimit: v_refill tokens per elapsed window.
    if v_fresh then
      v_current := p_limit;
      v_start := v_now;
    else
      v_current := v_row.current_count;
      v_start := v_row.window_start_ms;
    end if;
    if v_now >= v_start + p_window_ms then
      v_refills := (v_now - v_start) / p_window_ms;
      v_current := least(p_limit::bigint, v_current + v_refills * v_refill)::integer;
      v_start := v_start + v_refills * p_window_ms;
    end if;
    v_allowed := v_current >= p_cost;
    if v_allowed then
      v_current := v_current - p_cost;
    end if;
    v_remaining := greatest(0, v_current);
    v_reset := v_start + p_window_ms;
    -- Once full again the row equals a fresh one.
    v_expires := v_start + ceil((p_limit - v_current)::numeric / v_refill)::bigint * p_window_ms
      + p_window_ms;
  else
    v_start := (v_now / p_window_ms) * p_window_ms;
    v_current := 0;
    if not v_fresh and v_row.window_start_ms = v_start then
      v_current := v_row.current_count;
      v_previous := v_row.previous_count;
    elsif not v_fresh and v_row.window_start_ms = v_start - p_window_ms then
      v_previous := v_row.current_count;
    end if;
    if p_algorithm = 'sliding_window' then
      -- The previous window counts in proportion to its overlap with the sliding window.
      v_used := floor(v_previous * (1 - (v_now - v_start)::float8 / p_window_ms))::integer
        + v_current;
      v_expires := v_start + 2 * p_window_ms;
    else
      v_previous := 0;
      v_used := v_current;
      v_expires := v_start + p_window_ms;
    end if;
    v_allowed := v_used + p_cost <= p_limit;
    if v_allowed then
      v_current := v_current + p_cost;
      v_remaining := p_limit - v_used - p_cost;
    else
      v_remaining := greatest(0, p_limit - v_used);
    end if;
    v_reset := v_start + p_window_ms;
  end if;

  update rate_limit.counters c
  set algorithm = p_algorithm,
      window_start_ms = v_start,
      current_count = v_current,
      previous_count = v_previous,
      expires_at = to_timestamp(v_expires / 1000.0)
  where c.key = p_key;

  return query select v_allowed, v_remaining, v_reset, p_limit;
end;
$$;

comment on function rate_limit.consume(text, text, integer, bigint, integer, integer, bigint) is
  'Counts one request of p_key under a sliding window, token bucket or fixed window limit, atomically (row lock); p_now_ms overrides the database clock for tests.';

revoke all on function rate_limit.consume(text, text, integer, bigint, integer, integer, bigint)
  from public;

create or replace function rate_limit.purge_expired()
returns integer
language sql
security definer
set search_path = ''
as $$
  with purged as (
    delete from rate_limit.counters c where c.expires_at < now() returning 1
  )
  select count(*)::integer from purged;
$$;

comment on function rate_limit.purge_expired() is
  'Deletes counters past their expiry; returns how many. Meant for a periodic job.';

revoke all on function rate_limit.purge_expired() from public;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function rate_limit.consume(text, text, integer, bigint, integer, integer, bigint)
      to service_role;
    grant execute on function rate_limit.purge_expired() to service_role;
  end if;
end
$$;
