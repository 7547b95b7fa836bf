-- Postgres as a TTL + LRU cache: an UNLOGGED key/value table with JSON values, counters for
-- metrics, budget-driven cleanup, and the inventory read path with transactional invalidation.
--
-- UNLOGGED means no WAL: writes cost a fraction of a logged table's, but the content is emptied
-- after a crash and is absent from read replicas (they cannot even read the table). Callers treat
-- a miss as normal and recompute; nothing may depend on an entry being there.
--
-- Recency for LRU is a timestamp refreshed at most once per touch_interval per key: within that
-- interval a hit is a plain index read, and the occasional touch is a HOT update of an unindexed
-- column in a WAL-free table. Hit, miss and eviction counters are UNLOGGED sequences: nextval() is
-- non-transactional and needs no transaction id, so counting a hit writes no row.
--
-- Invalidation writes a tombstone (value null) with a fresh version instead of deleting the row.
-- A reader that missed fills the entry only if its version is still the one it saw when it read
-- the data (same statement snapshot); a change committed after that snapshot has replaced the
-- version (or holds the row lock until it commits), so the fill is dropped and a cached read is
-- never staler than the last committed change. Tombstones are removed after tombstone_ttl, long
-- after any fill that could race with them has finished.

create unlogged table if not exists private.cache_entries (
  key text collate "C" not null,
  value jsonb,
  bytes integer not null,
  version bigint not null,
  expires_at timestamptz not null,
  accessed_at timestamptz not null,
  written_at timestamptz not null,
  constraint cache_entries_pkey primary key (key),
  constraint cache_entries_key_check check (char_length(key) between 1 and 512),
  constraint cache_entries_bytes_check check (bytes >= 0)
)
-- Free space on each page lets touches (accessed_at) stay HOT updates on the same page.
with (fillfactor = 80);
comment on table private.cache_entries is
  'UNLOGGED cache entries (lost on crash, absent on replicas): JSON value, size, TTL and '
  'approximate last access for LRU; value null = tombstone of an invalidated key. Use the '
  'private.cache_* functions.';
comment on column private.cache_entries.key is
  'Cache key, byte-ordered (collation C) so prefix deletes use the primary key.';
comment on column private.cache_entries.value is 'Cached JSON value; null for a tombstone.';
comment on column private.cache_entries.bytes is 'Size accounted for the budget: key + value.';
comment on column private.cache_entries.version is
  'Changes on every write and invalidation; a fill after a miss only lands on the version it saw.';
comment on column private.cache_entries.expires_at is 'End of the TTL (infinity for none).';
comment on column private.cache_entries.accessed_at is
  'Last write or hit, refreshed at most once per cache_settings.touch_interval (LRU order).';
comment on column private.cache_entries.written_at is 'Last write or invalidation.';
alter table private.cache_entries enable row level security;
revoke all on table private.cache_entries from public, anon, authenticated;
grant select on table private.cache_entries to service_role;

create table if not exists private.cache_settings (
  id boolean not null default true,
  max_entries integer not null default 100000,
  max_bytes bigint not null default 67108864,
  touch_interval interval not null default interval '30 seconds',
  tombstone_ttl interval not null default interval '10 minutes',
  constraint cache_settings_pkey primary key (id),
  constraint cache_settings_id_check check (id),
  constraint cache_settings_max_entries_check check (max_entries > 0),
  constraint cache_settings_max_bytes_check check (max_bytes > 0),
  constraint cache_settings_touch_interval_check check (touch_interval >= interval '0'),
  constraint cache_settings_tombstone_ttl_check check (tombstone_ttl >= interval '1 minute')
);
comment on table private.cache_settings is
  'Cache budget (entries, bytes) enforced by cache_cleanup(), LRU touch granularity and how long '
  'tombstones are kept; one row.';
alter table private.cache_settings enable row level security;
revoke all on table private.cache_settings from public, anon, authenticated;
grant select, update on table private.cache_settings to service_role;
insert into private.cache_settings (id) values (true) on conflict do nothing;

create unlogged sequence if not exists private.cache_hits;
create unlogged sequence if not exists private.cache_misses;
create unlogged sequence if not exists private.cache_sets;
create unlogged sequence if not exists private.cache_evictions;
create unlogged sequence if not exists private.cache_expirations;
create unlogged sequence if not exists private.cache_versions;
comment on sequence private.cache_hits is 'Cache hits (counter: nextval per hit).';
comment on sequence private.cache_misses is 'Cache misses (counter: nextval per miss).';
comment on sequence private.cache_sets is 'Cache writes (counter: nextval per stored entry).';
comment on sequence private.cache_evictions is 'Entries evicted by the LRU budget (counter).';
comment on sequence private.cache_expirations is 'Expired entries removed by cleanup (counter).';
comment on sequence private.cache_versions is 'Source of cache_entries.version.';
revoke all on sequence
  private.cache_hits, private.cache_misses, private.cache_sets, private.cache_evictions,
  private.cache_expirations, private.cache_versions
from public, anon, authenticated;

create or replace function private.cache_counter(p_counter regclass)
returns bigint
language plpgsql
stable
set search_path = ''
as $$
declare
  v_value bigint;
begin
  -- A counter sequence that was never advanced reads last_value 1 with is_called false.
  execute format('select case when is_called then last_value else 0 end from %s', p_counter)
    into v_value;
  return v_value;
end
$$;
comment on function private.cache_counter(regclass) is 'Current value of a cache counter sequence.';

create or replace function private.cache_writable()
returns boolean
language sql
stable
set search_path = ''
as $$
  -- Read-only transactions cannot write, and a REPEATABLE READ snapshot would turn a racing fill
  -- into a serialization failure: there the cache is read but never filled or touched.
  select pg_catalog.current_setting('transaction_read_only') = 'off'
    and pg_catalog.current_setting('transaction_isolation') = 'read committed'
$$;
comment on function private.cache_writable() is
  'Whether this transaction may fill, touch and count in the cache (read committed, read-write).';

create or replace function private.cache_get(p_key text)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_now constant timestamptz := clock_timestamp();
  v_value jsonb;
  v_expires_at timestamptz;
  v_accessed_at timestamptz;
  v_touch interval;
begin
  select c.value, c.expires_at, c.accessed_at,
    (select s.touch_interval from private.cache_settings s)
  into v_value, v_expires_at, v_accessed_at, v_touch
  from private.cache_entries c
  where c.key = p_key;

  -- Inlined private.cache_writable(): this is the hottest path of the cache.
  if pg_catalog.current_setting('transaction_read_only') = 'on' then
    return case when v_value is not null and v_expires_at > v_now then v_value end;
  end if;
  if v_value is null or v_expires_at <= v_now then
    perform pg_catalog.nextval('private.cache_misses');
    return null;
  end if;
  -- A repeatable-read snapshot would turn a concurrent touch into a serialization failure.
  if v_accessed_at <= v_now - coalesce(v_touch, interval '30 seconds')
    and pg_catalog.current_setting('transaction_isolation') = 'read committed'
  then
    update private.cache_entries c set accessed_at = v_now
    where c.key = p_key and c.accessed_at < v_now;
  end if;
  perform pg_catalog.nextval('private.cache_hits');
  return v_value;
end
$$;
comment on function private.cache_get(text) is
  'The value of a live entry, or null on a miss (absent, expired or invalidated). Counts the hit '
  'or miss and refreshes LRU recency at most once per touch_interval, except in read-only '
  'transactions, which only read.';

create or replace function private.cache_set(p_key text, p_value jsonb, p_ttl_seconds integer)
returns void
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_now constant timestamptz := clock_timestamp();
begin
  if p_key is null or char_length(p_key) not between 1 and 512 then
    raise exception 'cache keys have 1 to 512 characters' using errcode = 'invalid_parameter_value';
  end if;
  if p_value is null then
    raise exception 'a cache value cannot be null (use cache_delete)'
      using errcode = 'null_value_not_allowed';
  end if;
  if p_ttl_seconds is not null and p_ttl_seconds <= 0 then
    raise exception 'ttl_seconds must be positive (null: no expiry)'
      using errcode = 'invalid_parameter_value';
  end if;
  -- Concurrent sets of one key serialise on the row: the last to commit wins, none fails.
  insert into private.cache_entries as c (
    key, value, bytes, version, expires_at, accessed_at, written_at
  )
  values (
    p_key, p_value, octet_length(p_key) + pg_catalog.pg_column_size(p_value),
    pg_catalog.nextval('private.cache_versions'),
    case when p_ttl_seconds is null then 'infinity'::timestamptz
      else v_now + make_interval(secs => p_ttl_seconds) end,
    v_now, v_now
  )
  on conflict (key) do update
    set value = excluded.value, bytes = excluded.bytes, version = excluded.version,
      expires_at = excluded.expires_at, accessed_at = excluded.accessed_at,
      written_at = excluded.written_at;
  perform pg_catalog.nextval('private.cache_sets');
end
$$;
comment on function private.cache_set(text, jsonb, integer) is
  'Stores a JSON value under a key for p_ttl_seconds (null: until evicted). The budget is '
  'enforced by cache_cleanup().';

create or replace function private.cache_invalidate(p_keys text[])
returns void
language sql
volatile
security definer
set search_path = ''
as $$
  -- Tombstones with fresh versions, also for keys not cached yet: a reader filling such a key
  -- from an older snapshot conflicts with the tombstone and drops its fill.
  insert into private.cache_entries as c (
    key, value, bytes, version, expires_at, accessed_at, written_at
  )
  select k.key, null, octet_length(k.key), pg_catalog.nextval('private.cache_versions'),
    'infinity', pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp()
  from (select distinct u.key from unnest(p_keys) u(key) where u.key is not null) k
  on conflict (key) do update
    set value = null, bytes = excluded.bytes, version = excluded.version,
      expires_at = excluded.expires_at, written_at = excluded.written_at
$$;
comment on function private.cache_invalidate(text[]) is
  'Invalidates keys in the current transaction (tombstones): from its commit on, no reader '
  'gets or fills the old value.';

create or replace function private.cache_delete(p_key text)
returns boolean
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_live boolean;
begin
  select c.value is not null and c.expires_at > clock_timestamp() into v_live
  from private.cache_entries c
  where c.key = p_key;
  perform private.cache_invalidate(array[p_key]);
  return coalesce(v_live, false);
end
$$;
comment on function private.cache_delete(text) is
  'Removes a key (as a tombstone, see cache_invalidate); true when it held a live value.';

create or replace function private.cache_delete_prefix(p_prefix text)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_count bigint;
begin
  if p_prefix is null or p_prefix = '' then
    raise exception 'a prefix needs at least one character' using errcode = 'invalid_parameter_value';
  end if;
  -- starts_with on a collation "C" key is answered by a range scan of the primary key.
  with hit as (
    update private.cache_entries c
    set value = null, bytes = octet_length(c.key),
      version = pg_catalog.nextval('private.cache_versions'), expires_at = 'infinity',
      written_at = clock_timestamp()
    where starts_with(c.key, p_prefix) and c.value is not null
    returning c.expires_at
  )
  select count(*) into v_count from hit;
  return v_count;
end
$$;
comment on function private.cache_delete_prefix(text) is
  'Removes every key starting with p_prefix (as tombstones); returns how many held a value.';

create or replace function private.cache_stats()
returns table (
  hits bigint,
  misses bigint,
  sets bigint,
  evictions bigint,
  expirations bigint,
  entries bigint,
  tombstones bigint,
  bytes bigint,
  max_entries integer,
  max_bytes bigint,
  hit_ratio numeric
)
language sql
stable
security definer
set search_path = ''
as $$
  select h.v, m.v, private.cache_counter('private.cache_sets'),
    private.cache_counter('private.cache_evictions'),
    private.cache_counter('private.cache_expirations'),
    e.entries, e.tombstones, e.bytes, s.max_entries, s.max_bytes,
    case when h.v + m.v > 0 then round(h.v::numeric / (h.v + m.v), 4) end
  from (select private.cache_counter('private.cache_hits') as v) h,
    (select private.cache_counter('private.cache_misses') as v) m,
    (
      select count(*) filter (where c.value is not null) as entries,
        count(*) filter (where c.value is null) as tombstones,
        coalesce(sum(c.bytes), 0)::bigint as bytes
      from private.cache_entries c
    ) e
  left join private.cache_settings s on true
$$;
comment on function private.cache_stats() is
  'Cache counters since the last restart or crash (hits, misses, sets, evictions, expirations), '
  'current entries, tombstones and bytes, the budget and the hit ratio; for metrics.';

create or replace function private.cache_cleanup()
returns table (expired bigint, tombstones bigint, evicted bigint)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_settings private.cache_settings;
  v_expired bigint := 0;
  v_tombstones bigint := 0;
  v_evicted bigint := 0;
begin
  -- One cleanup at a time; a second call (cron catching up) returns zeros.
  if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('private.cache_cleanup')) then
    return query select 0::bigint, 0::bigint, 0::bigint;
    return;
  end if;
  select * into v_settings from private.cache_settings;

  -- 1. Expired entries first: they are dead weight whatever their recency. The conditions are
  -- rechecked on the latest row version, so an entry rewritten meanwhile stays.
  with gone as (
    delete from private.cache_entries c
    where c.value is not null and c.expires_at <= clock_timestamp()
    returning 1
  )
  select count(*) into v_expired from gone;

  -- 2. Tombstones once no fill can still race with them.
  with gone as (
    delete from private.cache_entries c
    where c.value is null and c.written_at <= clock_timestamp() - v_settings.tombstone_ttl
    returning 1
  )
  select count(*) into v_tombstones from gone;

  -- 3. Least recently used entries beyond the entry or byte budget. Only the version that was
  -- ranked is deleted: an entry rewritten or invalidated since is left alone.
  with ranked as (
    select c.key, c.version,
      row_number() over w as n,
      sum(c.bytes) over w as running_bytes
    from private.cache_entries c
    where c.value is not null
    window w as (order by c.accessed_at desc, c.key desc)
  ),
  gone as (
    delete from private.cache_entries c
    using ranked r
    where c.key = r.key and c.version = r.version and c.value is not null
      and (r.n > v_settings.max_entries or r.running_bytes > v_settings.max_bytes)
    returning 1
  )
  select count(*) into v_evicted from gone;

  -- Only this function advances these two counters, and never twice at once (the lock above).
  if v_expired > 0 then
    perform pg_catalog.setval('private.cache_expirations',
      private.cache_counter('private.cache_expirations') + v_expired);
  end if;
  if v_evicted > 0 then
    perform pg_catalog.setval('private.cache_evictions',
      private.cache_counter('private.cache_evictions') + v_evicted);
  end if;
  return query select v_expired, v_tombstones, v_evicted;
end
$$;
comment on function private.cache_cleanup() is
  'Removes expired entries, then old tombstones, then the least recently used entries until the '
  'cache fits cache_settings.max_entries and max_bytes; returns the counts. Scheduled every minute.';

-- Inventory through the cache ------------------------------------------------------------------------

create or replace function public.inventory_levels_cached(
  p_product_ids bigint[] default null,
  p_skus text[] default null
)
returns table (
  product_id bigint,
  sku text,
  on_hand integer,
  reserved integer,
  available integer,
  updated_at timestamptz
)
language plpgsql
volatile
-- Definer: the cache is private. The result is what inventory_levels shows to everyone: the stock
-- of active products.
security definer
set search_path = ''
as $$
declare
  v_now constant timestamptz := clock_timestamp();
  v_writable constant boolean := private.cache_writable();
  v_ids bigint[];
  v_hits jsonb;
  v_hit_count integer;
  v_missing bigint[];
  v_stale_keys text[];
  v_filled jsonb;
begin
  select pg_catalog.array_agg(distinct x.id) into v_ids
  from (
    select u.id from unnest(p_product_ids) u(id)
    union all
    select p.id from public.products p where p.sku = any (p_skus)
  ) x
  where x.id is not null;
  if v_ids is null then
    return;
  end if;

  -- 1. Read what the cache holds: a plain index read per key, no write.
  select
    pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('product_id', w.id) || c.value)
      filter (where c.value is not null and c.expires_at > v_now),
    (count(*) filter (where c.value is not null and c.expires_at > v_now))::integer,
    pg_catalog.array_agg(w.id) filter (where c.value is null or c.expires_at <= v_now),
    pg_catalog.array_agg(c.key) filter (where c.value is not null and c.expires_at > v_now
      and c.accessed_at <= v_now - (select s.touch_interval from private.cache_settings s))
  into v_hits, v_hit_count, v_missing, v_stale_keys
  from unnest(v_ids) w(id)
  left join private.cache_entries c on c.key = 'inventory:' || w.id;

  -- 2. Misses: read the live stock and fill, in one statement, so the stock and the versions the
  -- fills are conditioned on come from one snapshot. A fill lands only on the version seen (0: no
  -- row): a tombstone written since has a new version, and one not yet committed holds the row
  -- until it is, so an older stock level is never stored over a newer change.
  if v_missing is not null then
    with looked_up as (
      select w.id, 'inventory:' || w.id as key, coalesce(c.version, 0) as version
      from unnest(v_missing) w(id)
      left join private.cache_entries c on c.key = 'inventory:' || w.id
    ),
    -- Products that are inactive or do not exist are cached too, as not listed, so asking for
    -- them again is a hit rather than a fill each time.
    live as (
      select l.id, l.key, l.version,
        case when p.active then pg_catalog.jsonb_build_object(
          'listed', true, 'sku', p.sku, 'on_hand', coalesce(i.on_hand, 0),
          'reserved', coalesce(i.reserved, 0), 'available', coalesce(i.on_hand - i.reserved, 0),
          'updated_at', i.updated_at
        ) else '{"listed": false}'::jsonb end as value
      from looked_up l
      left join public.products p on p.id = l.id
      left join public.inventory i on i.product_id = p.id and p.active
    ),
    filled as (
      insert into private.cache_entries as c (
        key, value, bytes, version, expires_at, accessed_at, written_at
      )
      select f.key, f.value, octet_length(f.key) + pg_catalog.pg_column_size(f.value), f.version,
        v_now + interval '10 minutes', v_now, v_now
      from live f
      where v_writable
      on conflict (key) do update
        set value = excluded.value, bytes = excluded.bytes, expires_at = excluded.expires_at,
          accessed_at = excluded.accessed_at, written_at = excluded.written_at
        where c.version = excluded.version
    )
    select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('product_id', f.id) || f.value)
    into v_filled
    from live f;
  end if;

  if v_writable then
    -- LRU recency, at most once per touch_interval per key.
    if v_stale_keys is not null then
      update private.cache_entries c set accessed_at = v_now
      where c.key = any (v_stale_keys) and c.accessed_at < v_now;
    end if;
    perform pg_catalog.nextval('private.cache_hits') from generate_series(1, v_hit_count);
    perform pg_catalog.nextval('private.cache_misses')
    from generate_series(1, coalesce(pg_catalog.cardinality(v_missing), 0));
  end if;

  return query
  select x.product_id, x.sku, x.on_hand, x.reserved, x.available, x.updated_at
  from pg_catalog.jsonb_to_recordset(
    coalesce(v_hits, '[]'::jsonb) || coalesce(v_filled, '[]'::jsonb)
  ) as x(
    product_id bigint, listed boolean, sku text, on_hand integer, reserved integer,
    available integer, updated_at timestamptz
  )
  where x.listed
  order by x.product_id;
end
$$;
comment on function public.inventory_levels_cached(bigint[], text[]) is
  'inventory_levels() through the cache: one entry per product id (key inventory:<id>, 10 minute '
  'TTL; inactive and unknown ids cached as not listed), filled on a miss, invalidated by triggers '
  'on inventory and products in the same transaction as the change, so a cached level is never '
  'older than the last committed one.';

create or replace function private.inventory_invalidate_cache()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'TRUNCATE' then
    perform private.cache_delete_prefix('inventory:');
  elsif tg_op = 'INSERT' then
    perform private.cache_invalidate(array(select 'inventory:' || n.product_id from new_rows n));
  elsif tg_op = 'DELETE' then
    perform private.cache_invalidate(array(select 'inventory:' || o.product_id from old_rows o));
  else
    perform private.cache_invalidate(array(
      select 'inventory:' || n.product_id from new_rows n
      union
      select 'inventory:' || o.product_id from old_rows o
    ));
  end if;
  return null;
end
$$;
comment on function private.inventory_invalidate_cache() is
  'Statement trigger on inventory: invalidates the cached stock of every product whose stock row '
  'was written, in the writing transaction.';

create or replace function private.products_invalidate_inventory_cache()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- A cached stock entry carries the SKU and whether the product is listed (active; an id with no
  -- product is cached as not listed).
  if tg_op = 'INSERT' then
    perform private.cache_invalidate(array(select 'inventory:' || n.id from new_rows n));
  else
    perform private.cache_invalidate(array(
      select 'inventory:' || n.id
      from old_rows o join new_rows n on n.id = o.id
      where (o.active, o.sku) is distinct from (n.active, n.sku)
    ));
  end if;
  return null;
end
$$;
comment on function private.products_invalidate_inventory_cache() is
  'Statement trigger on products: invalidates cached stock of new products and of products '
  'whose SKU or activity changed.';

-- ENABLE ALWAYS: also when rows are written with session_replication_role = replica.
create or replace trigger inventory_invalidate_cache_insert
  after insert on public.inventory
  referencing new table as new_rows
  for each statement execute function private.inventory_invalidate_cache();
create or replace trigger inventory_invalidate_cache_update
  after update on public.inventory
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.inventory_invalidate_cache();
create or replace trigger inventory_invalidate_cache_delete
  after delete on public.inventory
  referencing old table as old_rows
  for each statement execute function private.inventory_invalidate_cache();
create or replace trigger inventory_invalidate_cache_truncate
  after truncate on public.inventory
  for each statement execute function private.inventory_invalidate_cache();
create or replace trigger products_invalidate_inventory_cache
  after update on public.products
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.products_invalidate_inventory_cache();
create or replace trigger products_invalidate_inventory_cache_insert
  after insert on public.products
  referencing new table as new_rows
  for each statement execute function private.products_invalidate_inventory_cache();
alter table public.inventory enable always trigger inventory_invalidate_cache_insert;
alter table public.inventory enable always trigger inventory_invalidate_cache_update;
alter table public.inventory enable always trigger inventory_invalidate_cache_delete;
alter table public.inventory enable always trigger inventory_invalidate_cache_truncate;
alter table public.products enable always trigger products_invalidate_inventory_cache;
alter table public.products enable always trigger products_invalidate_inventory_cache_insert;

-- Privileges ---------------------------------------------------------------------------------------

revoke all on function
  private.cache_counter(regclass),
  private.cache_writable(),
  private.cache_get(text),
  private.cache_set(text, jsonb, integer),
  private.cache_invalidate(text[]),
  private.cache_delete(text),
  private.cache_delete_prefix(text),
  private.cache_stats(),
  private.cache_cleanup(),
  private.inventory_invalidate_cache(),
  private.products_invalidate_inventory_cache(),
  public.inventory_levels_cached(bigint[], text[])
from public, anon, authenticated, service_role;
grant execute on function
  private.cache_get(text),
  private.cache_set(text, jsonb, integer),
  private.cache_invalidate(text[]),
  private.cache_delete(text),
  private.cache_delete_prefix(text),
  private.cache_stats(),
  private.cache_cleanup()
to service_role;
grant execute on function public.inventory_levels_cached(bigint[], text[])
  to anon, authenticated, service_role;
