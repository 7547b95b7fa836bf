-- Live per-category product counts and price ranges, kept by triggers, so list_categories reads
-- one small row per category instead of aggregating the catalog on every call.

create table if not exists private.category_product_stats (
  category_id bigint not null,
  product_count bigint not null default 0,
  min_price_cents bigint,
  max_price_cents bigint,
  updated_at timestamptz not null default now(),
  constraint category_product_stats_pkey primary key (category_id),
  constraint category_product_stats_category_id_fkey foreign key (category_id)
    references public.categories (id) on delete cascade,
  constraint category_product_stats_product_count_check check (product_count >= 0)
);
comment on table private.category_product_stats is
  'Number and price range of each category''s own active products, recounted by triggers on '
  'products in the same transaction as the change; read by list_categories().';
comment on column private.category_product_stats.category_id is 'The category.';
comment on column private.category_product_stats.product_count is
  'Active products whose category_id is this category (descendants not included).';
comment on column private.category_product_stats.min_price_cents is
  'Lowest price among them; null when there is none.';
comment on column private.category_product_stats.max_price_cents is
  'Highest price among them; null when there is none.';
comment on column private.category_product_stats.updated_at is 'When the row was last recounted.';
alter table private.category_product_stats enable row level security;
revoke all on table private.category_product_stats from public, anon, authenticated;
grant select on table private.category_product_stats to service_role;

create or replace function private.recount_category_products(p_category_ids bigint[])
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- Lock the stats rows first, in id order (no deadlock between two writers), and only then
  -- recount: under READ COMMITTED the recount is a new statement with a new snapshot, so it sees
  -- every change committed by a writer that held these rows before us, and a writer still to come
  -- recounts after us. Whoever recounts last sees all committed changes.
  insert into private.category_product_stats (category_id)
  select c.id from public.categories c where c.id = any (p_category_ids)
  on conflict (category_id) do nothing;

  perform 1 from private.category_product_stats s
  where s.category_id = any (p_category_ids)
  order by s.category_id
  for update;

  update private.category_product_stats s
  set product_count = n.product_count,
    min_price_cents = n.min_price_cents,
    max_price_cents = n.max_price_cents,
    updated_at = now()
  from (
    select c.id,
      (select count(*) from public.products p where p.category_id = c.id and p.active)
        as product_count,
      (select min(p.price_cents) from public.products p where p.category_id = c.id and p.active)
        as min_price_cents,
      (select max(p.price_cents) from public.products p where p.category_id = c.id and p.active)
        as max_price_cents
    from unnest(p_category_ids) c(id)
  ) n
  where s.category_id = n.id
    and (s.product_count, s.min_price_cents, s.max_price_cents)
      is distinct from (n.product_count, n.min_price_cents, n.max_price_cents);
end
$$;
comment on function private.recount_category_products(bigint[]) is
  'Recounts the active products and price range of the given categories from the catalog '
  '(index-only scans of products_category_id_price_cents_idx) under row locks.';

create or replace function private.products_recount_categories()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_ids bigint[];
begin
  if tg_op = 'TRUNCATE' then
    delete from private.category_product_stats;
    return null;
  elsif tg_op = 'INSERT' then
    select array_agg(distinct n.category_id) into v_ids
    from new_rows n where n.category_id is not null and n.active;
  elsif tg_op = 'DELETE' then
    select array_agg(distinct o.category_id) into v_ids
    from old_rows o where o.category_id is not null and o.active;
  else
    -- Only rows whose listing changed: category, activity or price (text edits do not count).
    select array_agg(distinct x.category_id) into v_ids
    from (
      select o.category_id
      from old_rows o join new_rows n on n.id = o.id
      where o.active and (o.category_id, o.active, o.price_cents)
        is distinct from (n.category_id, n.active, n.price_cents)
      union
      select n.category_id
      from old_rows o join new_rows n on n.id = o.id
      where n.active and (o.category_id, o.active, o.price_cents)
        is distinct from (n.category_id, n.active, n.price_cents)
    ) x
    where x.category_id is not null;
  end if;
  if v_ids is not null then
    perform private.recount_category_products(v_ids);
  end if;
  return null;
end
$$;
comment on function private.products_recount_categories() is
  'Statement trigger on products: recounts the categories whose active products or prices changed.';

-- One trigger per event: transition tables are allowed only on single-event triggers. ENABLE ALWAYS
-- keeps the counts right when rows are written with session_replication_role = replica (the demo
-- generator, logical replication).
create or replace trigger products_recount_categories_insert
  after insert on public.products
  referencing new table as new_rows
  for each statement execute function private.products_recount_categories();
create or replace trigger products_recount_categories_update
  after update on public.products
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.products_recount_categories();
create or replace trigger products_recount_categories_delete
  after delete on public.products
  referencing old table as old_rows
  for each statement execute function private.products_recount_categories();
create or replace trigger products_recount_categories_truncate
  after truncate on public.products
  for each statement execute function private.products_recount_categories();
alter table public.products enable always trigger products_recount_categories_insert;
alter table public.products enable always trigger products_recount_categories_update;
alter table public.products enable always trigger products_recount_categories_delete;
alter table public.products enable always trigger products_recount_categories_truncate;

-- Counts for the catalog that exists when this migration runs.
select private.recount_category_products(array(select c.id from public.categories c));

create or replace function public.list_categories()
returns table (
  id bigint,
  parent_id bigint,
  name text,
  slug text,
  "position" integer,
  product_count bigint,
  min_price_cents bigint,
  max_price_cents bigint
)
-- plpgsql for its per-session plan cache (a sql function plans its query on every call).
language plpgsql
stable
-- Definer: the counts live in the private schema; categories are public and the counts cover
-- active products only, which everyone may list, so the result is the same for every caller.
security definer
set search_path = ''
as $$
begin
  return query
  select c.id, c.parent_id, c.name, c.slug, c.position,
    coalesce(s.product_count, 0), s.min_price_cents, s.max_price_cents
  from public.categories c
  left join private.category_product_stats s on s.category_id = c.id
  order by c.parent_id nulls first, c.position, c.id;
end
$$;
comment on function public.list_categories() is
  'Every category with the number and price range of its own active products (not its '
  'descendants''; the tree is complete in the result), ordered by parent, position, id. Counts '
  'are kept by triggers in the same transaction as each catalog change.';

revoke all on function
  private.recount_category_products(bigint[]),
  private.products_recount_categories(),
  public.list_categories()
from public, anon, authenticated, service_role;
grant execute on function public.list_categories() to anon, authenticated, service_role;
