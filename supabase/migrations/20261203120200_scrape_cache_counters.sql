-- Scrape the shared cache tier's hit, miss and eviction counters, so the cache families have a producer.
--
-- metrics.scrape() as created by 20261126140100_create_metrics_scrape.sql, plus the counters that
-- private.cache_stats() keeps for the UNLOGGED inventory cache behind GET /inventory: each key
-- looked up by inventory_levels_cached() is a hit or a miss there, and cache_cleanup() counts what
-- it evicts (budget) and expires.

create or replace function metrics.scrape()
returns table (name text, labels jsonb, value double precision)
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform metrics.collect_cron_runs();

  return query
    select 'comptoir_low_stock_products'::text, '{}'::jsonb, count(*)::double precision
    from public.products p
    left join public.inventory i on i.product_id = p.id
    where p.active
      and coalesce(i.on_hand - i.reserved, 0) <= metrics.low_stock_threshold();

  if to_regclass('private.refreshable_views') is not null
    and to_regclass('private.refresh_log') is not null then
    insert into metrics.views_first_seen (view_name)
    select r.view_name from private.refreshable_views r
    on conflict do nothing;

    return query execute $q$
      with views as (
        select r.view_name, r.max_staleness,
          (select max(l.started_at) from private.refresh_log l
            where l.view_name = r.view_name and l.outcome = 'succeeded') as refreshed_at,
          f.first_seen_at
        from private.refreshable_views r
        join metrics.views_first_seen f on f.view_name = r.view_name
      ),
      schedules as (
        select v.view_name, v.refreshed_at, v.first_seen_at, v.max_staleness,
          metrics.view_schedule_seconds(v.view_name) as scheduled
        from views v
      )
      select 'comptoir_materialized_view_staleness_seconds'::text,
        pg_catalog.jsonb_build_object('view', 'private.' || s.view_name),
        greatest(extract(epoch from pg_catalog.now() - coalesce(s.refreshed_at, s.first_seen_at)), 0)
          ::double precision
      from schedules s
      union all
      -- Without a scheduled job, max_staleness stands for three refresh intervals.
      select 'comptoir_materialized_view_refresh_interval_seconds'::text,
        pg_catalog.jsonb_build_object('view', 'private.' || s.view_name),
        coalesce(s.scheduled, extract(epoch from s.max_staleness) / 3)::double precision
      from schedules s
    $q$;
  end if;

  if to_regclass('private.cache_entries') is not null then
    -- Keys are '<cache>:<key>'; the metrics function keeps the prefixes that name a cache.
    return query execute $q$
      select m.name, pg_catalog.jsonb_build_object('cache', c.cache, 'tier', 'shared'), m.value
      from (
        select pg_catalog.split_part(e.key, ':', 1) as cache, count(*)::double precision as entries,
          coalesce(sum(e.bytes), 0)::double precision as bytes
        from private.cache_entries e
        where e.value is not null and e.expires_at > pg_catalog.now()
        group by 1
      ) c
      cross join lateral (values
        ('comptoir_cache_entries'::text, c.entries),
        ('comptoir_cache_size_bytes'::text, c.bytes)
      ) as m(name, value)
    $q$;
  end if;

  if to_regprocedure('private.cache_stats()') is not null then
    -- The shared tier's own counters (UNLOGGED sequences: they restart at 0 after a crash, which
    -- Prometheus reads as a counter reset). Only the inventory cache lives in the shared tier.
    return query execute $q$
      select m.name, m.labels, m.value
      from private.cache_stats() s
      cross join lateral (values
        ('comptoir_cache_hits_total'::text,
          '{"cache": "inventory", "tier": "shared"}'::jsonb, s.hits::double precision),
        ('comptoir_cache_misses_total'::text,
          '{"cache": "inventory"}'::jsonb, s.misses::double precision),
        ('comptoir_cache_evictions_total'::text,
          '{"cache": "inventory", "tier": "shared", "reason": "capacity"}'::jsonb,
          s.evictions::double precision),
        ('comptoir_cache_evictions_total'::text,
          '{"cache": "inventory", "tier": "shared", "reason": "expired"}'::jsonb,
          s.expirations::double precision)
      ) as m(name, labels, value)
    $q$;
  end if;
end
$$;

comment on function metrics.scrape() is
  'Gauges the metrics function reads at each scrape: comptoir_low_stock_products, view staleness '
  'and refresh interval, entries and bytes of the shared cache tier, and the shared tier''s hit, '
  'miss and eviction counters; also counts pg_cron runs finished since the last scrape. Objects '
  'of other migrations are skipped when absent.';
