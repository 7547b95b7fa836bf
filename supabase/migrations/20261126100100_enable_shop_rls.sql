-- Row level security and least-privilege grants for the shop tables.
--
-- Who may do what (policies narrow the grants row by row):
--   anon           read categories, active products and their inventory
--   authenticated  the same, plus their own customer row, orders and order lines
--   admin          an authenticated user whose JWT app_metadata.role is 'admin': reads everything,
--                  writes the catalog (categories, products, inventory)
--   service_role   everything (BYPASSRLS): order placement and fulfilment run server-side
-- Supabase's default privileges grant anon and authenticated ALL on new public tables; they are
-- revoked here and only what the policies need is granted back.

create or replace function private.is_admin()
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  -- app_metadata is writable only with the service key, unlike user_metadata.
  select coalesce((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin', false)
$$;
comment on function private.is_admin() is
  'True when the request JWT carries app_metadata.role = admin. Used by RLS policies.';
revoke all on function private.is_admin() from public;
grant execute on function private.is_admin() to anon, authenticated, service_role;

alter table public.categories enable row level security;
alter table public.products enable row level security;
alter table public.customers enable row level security;
alter table public.orders enable row level security;
alter table public.order_items enable row level security;
alter table public.inventory enable row level security;
alter table public.stock_movements enable row level security;

-- Grants ------------------------------------------------------------------------------------------

revoke all on table
  public.categories, public.products, public.customers, public.orders, public.order_items,
  public.inventory, public.stock_movements
from anon, authenticated;

-- Identity columns draw their values without sequence privileges, so no role needs them on these
-- sequences except the service role, which may reset or inspect them.
revoke all on sequence
  public.categories_id_seq, public.products_id_seq, public.orders_id_seq,
  public.stock_movements_id_seq
from anon, authenticated;

grant select on table public.categories, public.products, public.inventory to anon;
grant select on table
  public.categories, public.products, public.customers, public.orders, public.order_items,
  public.inventory, public.stock_movements
to authenticated;
-- Only admins pass the write policies; the grant is the ceiling, the policy the filter.
grant insert, update, delete on table public.categories, public.products, public.inventory
  to authenticated;

grant all on table
  public.categories, public.products, public.customers, public.orders, public.order_items,
  public.inventory, public.stock_movements
to service_role;
grant usage, select, update on sequence
  public.categories_id_seq, public.products_id_seq, public.orders_id_seq,
  public.stock_movements_id_seq
to service_role;

-- Policies ----------------------------------------------------------------------------------------
-- One permissive policy per table and command, so Postgres evaluates a single expression per row.
-- Helper calls are wrapped in (select ...) so they run once per statement, not once per row.

drop policy if exists categories_select on public.categories;
create policy categories_select on public.categories
  for select to anon, authenticated
  using (true);
comment on policy categories_select on public.categories is 'The category tree is public.';

drop policy if exists categories_insert_admin on public.categories;
create policy categories_insert_admin on public.categories
  for insert to authenticated
  with check ((select private.is_admin()));
comment on policy categories_insert_admin on public.categories is 'Admins create categories.';

drop policy if exists categories_update_admin on public.categories;
create policy categories_update_admin on public.categories
  for update to authenticated
  using ((select private.is_admin()))
  with check ((select private.is_admin()));
comment on policy categories_update_admin on public.categories is 'Admins edit categories.';

drop policy if exists categories_delete_admin on public.categories;
create policy categories_delete_admin on public.categories
  for delete to authenticated
  using ((select private.is_admin()));
comment on policy categories_delete_admin on public.categories is 'Admins delete categories.';

drop policy if exists products_select on public.products;
create policy products_select on public.products
  for select to anon, authenticated
  using (active or (select private.is_admin()));
comment on policy products_select on public.products is
  'Active products are public; admins also see inactive ones.';

drop policy if exists products_insert_admin on public.products;
create policy products_insert_admin on public.products
  for insert to authenticated
  with check ((select private.is_admin()));
comment on policy products_insert_admin on public.products is 'Admins create products.';

drop policy if exists products_update_admin on public.products;
create policy products_update_admin on public.products
  for update to authenticated
  using ((select private.is_admin()))
  with check ((select private.is_admin()));
comment on policy products_update_admin on public.products is 'Admins edit products.';

drop policy if exists products_delete_admin on public.products;
create policy products_delete_admin on public.products
  for delete to authenticated
  using ((select private.is_admin()));
comment on policy products_delete_admin on public.products is 'Admins delete products.';

drop policy if exists inventory_select on public.inventory;
create policy inventory_select on public.inventory
  for select to anon, authenticated
  using (
    (select private.is_admin())
    or exists (
      select 1 from public.products p where p.id = inventory.product_id and p.active
    )
  );
comment on policy inventory_select on public.inventory is
  'Stock of active products is public; admins see all stock.';

drop policy if exists inventory_insert_admin on public.inventory;
create policy inventory_insert_admin on public.inventory
  for insert to authenticated
  with check ((select private.is_admin()));
comment on policy inventory_insert_admin on public.inventory is 'Admins create stock rows.';

drop policy if exists inventory_update_admin on public.inventory;
create policy inventory_update_admin on public.inventory
  for update to authenticated
  using ((select private.is_admin()))
  with check ((select private.is_admin()));
comment on policy inventory_update_admin on public.inventory is 'Admins adjust stock.';

drop policy if exists inventory_delete_admin on public.inventory;
create policy inventory_delete_admin on public.inventory
  for delete to authenticated
  using ((select private.is_admin()));
comment on policy inventory_delete_admin on public.inventory is 'Admins delete stock rows.';

drop policy if exists customers_select on public.customers;
create policy customers_select on public.customers
  for select to authenticated
  using (id = (select auth.uid()) or (select private.is_admin()));
comment on policy customers_select on public.customers is
  'A customer reads their own row; admins read all.';

drop policy if exists orders_select on public.orders;
create policy orders_select on public.orders
  for select to authenticated
  using (customer_id = (select auth.uid()) or (select private.is_admin()));
comment on policy orders_select on public.orders is
  'A customer reads their own orders; admins read all.';

drop policy if exists order_items_select on public.order_items;
create policy order_items_select on public.order_items
  for select to authenticated
  using (
    (select private.is_admin())
    or exists (
      select 1 from public.orders o
      where o.id = order_items.order_id and o.customer_id = (select auth.uid())
    )
  );
comment on policy order_items_select on public.order_items is
  'A customer reads the lines of their own orders; admins read all.';

drop policy if exists stock_movements_select_admin on public.stock_movements;
create policy stock_movements_select_admin on public.stock_movements
  for select to authenticated
  using ((select private.is_admin()));
comment on policy stock_movements_select_admin on public.stock_movements is
  'Only admins read the stock ledger.';
