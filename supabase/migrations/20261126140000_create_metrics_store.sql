-- Metrics store: the unlogged table every function isolate flushes its buffered metrics into, and the functions that write and read it.

create schema if not exists metrics;

comment on schema metrics is
  'Aggregated metrics of all function isolates (the metrics function renders them for Prometheus); '
  'reached only through the metrics.* functions.';

revoke all on schema metrics from public;

-- Unlogged: a crash empties the table, which Prometheus reads as a counter reset (rate() and
-- increase() handle it); in exchange each flush skips the WAL, about three times cheaper.
create unlogged table if not exists metrics.samples (
  name text not null,
  labels text not null,
  le text not null default '',
  isolate text not null default '',
  kind text not null,
  value double precision not null,
  updated_at timestamptz not null default now(),
  constraint samples_pkey primary key (name, labels, le, isolate),
  constraint samples_kind_check check (kind in ('c', 'g', 'l')),
  constraint samples_name_check check (name ~ '^[a-zA-Z_:][a-zA-Z0-9_:]*$'),
  constraint samples_isolate_check check ((kind = 'g') = (isolate <> ''))
);

comment on table metrics.samples is
  'One row per metric sample: counters and histogram parts (kind c) hold running totals added to '
  'by each flush; per-isolate gauges (kind g) one row per isolate, summed over fresh isolates; '
  'latest-value gauges (kind l) the last value written.';
comment on column metrics.samples.name is
  'Sample name: the family name, or with _bucket/_sum/_count for histograms.';
comment on column metrics.samples.labels is
  'Rendered, bounded label pairs without le, e.g. function="api",route="/api/v1/products".';
comment on column metrics.samples.le is 'Upper bound of a _bucket sample (0.5, +Inf); empty otherwise.';
comment on column metrics.samples.isolate is 'Isolate that wrote a per-isolate gauge; empty otherwise.';
comment on column metrics.samples.kind is 'c: added up; g: per isolate; l: latest value wins.';
comment on column metrics.samples.value is 'Running total (c) or gauge value (g, l).';
comment on column metrics.samples.updated_at is 'Last write; per-isolate gauges older than 60 s are ignored.';

create index if not exists samples_updated_at_idx on metrics.samples (updated_at) where kind = 'g';
comment on index metrics.samples_updated_at_idx is
  'Serves the purge of stale per-isolate gauges in metrics.read_samples().';

alter table metrics.samples enable row level security;
revoke all on table metrics.samples from public;

do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    revoke all on table metrics.samples from anon, authenticated;
  end if;
end
$$;

create or replace function metrics.flush(p_isolate text, p_samples jsonb)
returns integer
language sql
security definer
set search_path = ''
as $$
  -- One statement: the batch lands whole or not at all. Rows are taken in key order so that two
  -- isolates flushing overlapping series lock them in the same order and cannot deadlock.
  with input as (
    select e ->> 0 as name,
      e ->> 1 as labels,
      coalesce(e ->> 2, '') as le,
      e ->> 3 as kind,
      (e ->> 4)::double precision as value
    from pg_catalog.jsonb_array_elements(
      case when pg_catalog.jsonb_typeof(p_samples) = 'array' then p_samples else '[]'::jsonb end
    ) as e
  ),
  batch as (
    select name, labels, le,
      case when kind = 'g' then p_isolate else '' end as isolate,
      kind,
      case when kind = 'c' then sum(value) else (pg_catalog.array_agg(value))[1] end as value
    from input
    where kind in ('c', 'g', 'l')
      and name is not null and labels is not null and value is not null
      and value <> 'NaN'::double precision
      and (kind <> 'c' or value >= 0)
      and (kind <> 'g' or coalesce(p_isolate, '') <> '')
    group by name, labels, le, kind
  ),
  written as (
    insert into metrics.samples as s (name, labels, le, isolate, kind, value, updated_at)
    select name, labels, le, isolate, kind, value, pg_catalog.now()
    from batch
    order by name, labels, le, isolate
    on conflict on constraint samples_pkey do update
      set value = case when s.kind = 'c' then s.value + excluded.value else excluded.value end,
        updated_at = excluded.updated_at
    returning 1
  )
  select count(*)::integer from written
$$;

comment on function metrics.flush(text, jsonb) is
  'Writes one isolate''s batch atomically: p_samples is a JSON array of '
  '[name, labels, le, kind, value]; counters (c) are added, gauges (g per isolate p_isolate, l '
  'latest) replaced. Negative counter increments and NaN are ignored. Returns the rows written.';

create or replace function metrics.read_samples(p_gauge_window interval default interval '60 seconds')
returns table (name text, labels text, le text, kind text, value double precision)
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- Isolates that stopped flushing long ago leave rows behind; they no longer count, so drop them.
  delete from metrics.samples s
  where s.kind = 'g' and s.updated_at < pg_catalog.now() - greatest(p_gauge_window * 10, interval '10 minutes');

  return query
    select s.name, s.labels, s.le, s.kind, sum(s.value)
    from metrics.samples s
    where s.kind <> 'g' or s.updated_at > pg_catalog.now() - p_gauge_window
    group by s.name, s.labels, s.le, s.kind;
end
$$;

comment on function metrics.read_samples(interval) is
  'Every stored sample: counters and latest gauges as stored, per-isolate gauges summed over the '
  'isolates that wrote within p_gauge_window (60 s, the contract''s freshness rule).';

-- Histogram observations made inside the database (materialized view refreshes run by pg_cron or
-- the dev scheduler), with the same buckets as the contract and the TypeScript registry.
create or replace function metrics.observe(
  p_name text,
  p_labels text,
  p_value double precision,
  p_bounds text[]
)
returns void
language sql
security definer
set search_path = ''
as $$
  select metrics.flush('', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
    r.name, p_labels, r.le, 'c', r.value)))
  from (
    select p_name || '_bucket' as name,
      b.le,
      case when b.le = '+Inf' or p_value <= b.le::double precision then 1 else 0 end
        ::double precision as value
    from pg_catalog.unnest(p_bounds || '+Inf'::text) as b(le)
    union all select p_name || '_sum', '', p_value
    union all select p_name || '_count', '', 1
  ) r
  where p_value is not null and p_value >= 0
$$;

comment on function metrics.observe(text, text, double precision, text[]) is
  'Observes p_value in histogram p_name{p_labels} whose upper bounds are p_bounds, written as in '
  'the le label (JavaScript String(number)); +Inf is added.';

create or replace function metrics.record_view_refresh(
  p_view text,
  p_seconds double precision,
  p_succeeded boolean
)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_labels text;
begin
  if p_view !~ '^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$' then
    raise exception 'view must be schema.name in lower case, got %', p_view
      using errcode = '22023';
  end if;
  v_labels := 'view="' || p_view || '"';
  perform metrics.observe(
    'comptoir_materialized_view_refresh_duration_seconds',
    v_labels,
    greatest(p_seconds, 0),
    array['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '60', '120', '300']
  );
  -- Written on success too (+0) so that the failure series exists from the first refresh and
  -- increase() sees the first failure.
  perform metrics.flush('', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_array(
    'comptoir_materialized_view_refresh_failures_total', v_labels, '', 'c',
    case when p_succeeded then 0 else 1 end)));
end
$$;

comment on function metrics.record_view_refresh(text, double precision, boolean) is
  'Records one refresh attempt of materialized view p_view (schema.name): its duration in '
  'comptoir_materialized_view_refresh_duration_seconds and, when it failed, '
  'comptoir_materialized_view_refresh_failures_total. Call it after the attempt, outside the '
  'subtransaction that a failure rolls back.';

revoke all on function
  metrics.flush(text, jsonb),
  metrics.read_samples(interval),
  metrics.observe(text, text, double precision, text[]),
  metrics.record_view_refresh(text, double precision, boolean)
from public;

do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    revoke all on function
      metrics.flush(text, jsonb),
      metrics.read_samples(interval),
      metrics.observe(text, text, double precision, text[]),
      metrics.record_view_refresh(text, double precision, boolean)
    from anon, authenticated;
    grant usage on schema metrics to service_role;
    grant execute on function
      metrics.flush(text, jsonb),
      metrics.read_samples(interval),
      metrics.record_view_refresh(text, double precision, boolean)
    to service_role;
  end if;
end
$$;
