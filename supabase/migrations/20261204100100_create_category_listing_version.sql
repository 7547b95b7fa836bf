-- A version number of the category listing, bumped in the same transaction as every change that
-- alters public.list_categories() (a category, or a category's product counts and prices), so the
-- api can revalidate its copy of the listing with one tiny read instead of rebuilding it.

create table if not exists private.category_listing_version (
  id boolean not null default true,
  version bigint not null default 1,
  constraint category_listing_version_pkey primary key (id),
  constraint category_listing_version_id_check check (id)
);
comment on table private.category_listing_version is
  'One row: the version of public.list_categories(), incremented by statement triggers on '
  'public.categories and private.category_product_stats in the transaction that changes them '
  '(so a reader never sees a new version before the data it stands for).';
alter table private.category_listing_version enable row level security;
revoke all on table private.category_listing_version from public, anon, authenticated;
grant select on table private.category_listing_version to service_role;
insert into private.category_listing_version (id) values (true) on conflict (id) do nothing;

create or replace function private.bump_category_listing_version()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update private.category_listing_version set version = version + 1 where id;
  return null;
end
$$;
comment on function private.bump_category_listing_version() is
  'Statement trigger: a change to the category listing''s inputs makes a new listing version.';

do $$
begin
  if not exists (
    select 1 from pg_catalog.pg_trigger
    where tgname = 'categories_bump_listing_version'
      and tgrelid = 'public.categories'::regclass
  ) then
    create trigger categories_bump_listing_version
      after insert or update or delete or truncate on public.categories
      for each statement execute function private.bump_category_listing_version();
  end if;
  if not exists (
    select 1 from pg_catalog.pg_trigger
    where tgname = 'category_product_stats_bump_listing_version'
      and tgrelid = 'private.category_product_stats'::regclass
  ) then
    create trigger category_product_stats_bump_listing_version
      after insert or update or delete or truncate on private.category_product_stats
      for each statement execute function private.bump_category_listing_version();
  end if;
end
$$;

create or replace function public.category_listing_version()
returns bigint
language sql
stable
security definer
set search_path = ''
as $$
  select v.version from private.category_listing_version v where v.id
$$;
comment on function public.category_listing_version() is
  'The current version of public.list_categories(): equal versions, equal listings.';
revoke all on function public.category_listing_version() from public;
grant execute on function public.category_listing_version() to anon, authenticated, service_role;
