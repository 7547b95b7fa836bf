-- Shop schema: category tree, catalog, customers, orders and their lines, inventory, stock ledger.
--
-- Money is stored in minor units (bigint cents) with an ISO 4217 currency code beside it.
-- Only the indexes that primary keys, unique keys and foreign keys need are created here; the
-- indexes that serve the API's queries (search, listing, reporting) belong to a later migration.

create schema if not exists private;
revoke all on schema private from public;
comment on schema private is
  'Helpers used by RLS policies and triggers; never exposed through the Data API.';

do $$
begin
  create type public.order_status as enum (
    'pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'
  );
exception
  when duplicate_object then null;
end
$$;
comment on type public.order_status is
  'Order lifecycle: pending -> paid | cancelled; paid -> shipped | cancelled | refunded; '
  'shipped -> delivered; delivered -> refunded (enforced by orders_check_status_transition).';

do $$
begin
  create type public.stock_movement_reason as enum (
    'restock', 'sale', 'cancellation', 'return', 'adjustment'
  );
exception
  when duplicate_object then null;
end
$$;
comment on type public.stock_movement_reason is 'Why the stock of a product changed.';

-- Catalog -----------------------------------------------------------------------------------------

create table if not exists public.categories (
  id bigint generated always as identity,
  parent_id bigint,
  name text not null,
  slug text not null,
  position integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint categories_pkey primary key (id),
  constraint categories_slug_key unique (slug),
  constraint categories_parent_id_fkey foreign key (parent_id)
    references public.categories (id) on delete restrict,
  constraint categories_parent_id_check check (parent_id <> id),
  constraint categories_name_check check (char_length(btrim(name)) between 1 and 200),
  constraint categories_slug_check
    check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and char_length(slug) <= 120),
  constraint categories_position_check check (position >= 0)
);
comment on table public.categories is
  'Product categories as a tree (parent_id); readable by everyone, written by admins.';
comment on column public.categories.id is 'Surrogate key.';
comment on column public.categories.parent_id is 'Parent category; null for a root category.';
comment on column public.categories.name is 'Display name.';
comment on column public.categories.slug is
  'URL-safe unique identifier (lowercase words joined by -).';
comment on column public.categories.position is 'Sort order among siblings, ascending.';
comment on column public.categories.created_at is 'When the row was created.';
comment on column public.categories.updated_at is
  'When the row was last updated (trigger-maintained).';

-- Deleting a category must find its children without scanning the table.
create index if not exists categories_parent_id_idx on public.categories (parent_id);
comment on index public.categories_parent_id_idx is
  'Foreign key categories_parent_id_fkey; also serves tree walks (children of a category).';

create table if not exists public.products (
  id bigint generated always as identity,
  sku text not null,
  name text not null,
  description text not null default '',
  price_cents bigint not null,
  currency char(3) not null default 'EUR',
  category_id bigint,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  search_vector tsvector generated always as (
    setweight(to_tsvector('simple'::regconfig, coalesce(name, '')), 'A')
    || setweight(to_tsvector('simple'::regconfig, coalesce(sku, '')), 'A')
    || setweight(to_tsvector('simple'::regconfig, coalesce(description, '')), 'B')
  ) stored,
  constraint products_pkey primary key (id),
  constraint products_sku_key unique (sku),
  constraint products_sku_check
    check (sku ~ '^[A-Z0-9]+(-[A-Z0-9]+)*$' and char_length(sku) between 3 and 32),
  constraint products_name_check check (char_length(btrim(name)) between 1 and 200),
  constraint products_description_check check (char_length(description) <= 10000),
  constraint products_price_cents_check check (price_cents >= 0),
  constraint products_currency_check check (currency ~ '^[A-Z]{3}$'),
  constraint products_category_id_fkey foreign key (category_id)
    references public.categories (id) on delete set null
);
comment on table public.products is
  'Sellable products; active ones are public, inactive ones visible to admins only.';
comment on column public.products.id is 'Surrogate key.';
comment on column public.products.sku is
  'Stock keeping unit: uppercase letters and digits in groups joined by -, 3 to 32 characters.';
comment on column public.products.name is 'Display name.';
comment on column public.products.description is 'Long description (plain text).';
comment on column public.products.price_cents is 'Unit price in minor units of currency.';
comment on column public.products.currency is 'ISO 4217 currency code of price_cents.';
comment on column public.products.category_id is 'Category; null when uncategorised.';
comment on column public.products.active is 'Whether the product is listed and sellable.';
comment on column public.products.created_at is 'When the row was created.';
comment on column public.products.updated_at is
  'When the row was last updated (trigger-maintained).';
comment on column public.products.search_vector is
  'Full-text document (config simple): name and sku weight A, description weight B.';

create index if not exists products_category_id_idx on public.products (category_id);
comment on index public.products_category_id_idx is
  'Foreign key products_category_id_fkey (category deletes); also products of a category.';

-- Customers ---------------------------------------------------------------------------------------

create table if not exists public.customers (
  id uuid not null,
  email text not null,
  full_name text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint customers_pkey primary key (id),
  constraint customers_id_fkey foreign key (id) references auth.users (id) on delete cascade,
  constraint customers_email_check
    check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' and char_length(email) <= 320),
  constraint customers_full_name_check check (char_length(full_name) <= 200)
);
comment on table public.customers is
  'Shop profile of an auth user (same id); each customer reads only their own row.';
comment on column public.customers.id is 'The auth.users id of the customer.';
comment on column public.customers.email is 'Contact email for order mail.';
comment on column public.customers.full_name is 'Name used on orders and invoices.';
comment on column public.customers.created_at is 'When the row was created.';
comment on column public.customers.updated_at is
  'When the row was last updated (trigger-maintained).';

-- Orders ------------------------------------------------------------------------------------------

create table if not exists public.orders (
  id bigint generated always as identity,
  customer_id uuid,
  status public.order_status not null default 'pending',
  currency char(3) not null default 'EUR',
  subtotal_cents bigint not null default 0,
  shipping_cents bigint not null default 0,
  total_cents bigint not null default 0,
  item_count integer not null default 0,
  placed_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint orders_pkey primary key (id),
  -- Orders are accounting records: deleting a customer keeps them, detached.
  constraint orders_customer_id_fkey foreign key (customer_id)
    references public.customers (id) on delete set null,
  constraint orders_currency_check check (currency ~ '^[A-Z]{3}$'),
  constraint orders_subtotal_cents_check check (subtotal_cents >= 0),
  constraint orders_shipping_cents_check check (shipping_cents >= 0),
  constraint orders_total_cents_check check (total_cents = subtotal_cents + shipping_cents),
  constraint orders_item_count_check check (item_count >= 0)
);
comment on table public.orders is
  'Customer orders; a customer reads their own, admins read all, the service role writes them.';
comment on column public.orders.id is 'Order number.';
comment on column public.orders.customer_id is
  'Customer who placed the order; null once the customer is deleted.';
comment on column public.orders.status is 'Lifecycle state; transitions checked by a trigger.';
comment on column public.orders.currency is 'ISO 4217 currency code of every amount of the order.';
comment on column public.orders.subtotal_cents is 'Sum of the line totals, in minor units.';
comment on column public.orders.shipping_cents is 'Shipping fee, in minor units.';
comment on column public.orders.total_cents is 'subtotal_cents + shipping_cents.';
comment on column public.orders.item_count is 'Number of units ordered (sum of line quantities).';
comment on column public.orders.placed_at is 'When the customer placed the order.';
comment on column public.orders.updated_at is 'When the row was last updated (trigger-maintained).';

create index if not exists orders_customer_id_idx on public.orders (customer_id);
comment on index public.orders_customer_id_idx is
  'Foreign key orders_customer_id_fkey (customer deletes); also the RLS filter of own orders.';

create table if not exists public.order_items (
  order_id bigint not null,
  line_no integer not null,
  product_id bigint not null,
  quantity integer not null,
  unit_price_cents bigint not null,
  line_total_cents bigint not null,
  constraint order_items_pkey primary key (order_id, line_no),
  constraint order_items_order_id_fkey foreign key (order_id)
    references public.orders (id) on delete cascade,
  constraint order_items_product_id_fkey foreign key (product_id)
    references public.products (id) on delete restrict,
  constraint order_items_line_no_check check (line_no > 0),
  constraint order_items_quantity_check check (quantity > 0),
  constraint order_items_unit_price_cents_check check (unit_price_cents >= 0),
  constraint order_items_line_total_cents_check
    check (line_total_cents = quantity * unit_price_cents)
);
comment on table public.order_items is
  'Lines of an order, with the unit price charged at the time.';
comment on column public.order_items.order_id is 'Order the line belongs to.';
comment on column public.order_items.line_no is 'Line number within the order, from 1.';
comment on column public.order_items.product_id is 'Product ordered.';
comment on column public.order_items.quantity is 'Units ordered.';
comment on column public.order_items.unit_price_cents is
  'Price of one unit when ordered, minor units.';
comment on column public.order_items.line_total_cents is 'quantity * unit_price_cents.';

create index if not exists order_items_product_id_idx on public.order_items (product_id);
comment on index public.order_items_product_id_idx is
  'Foreign key order_items_product_id_fkey (product deletes); also sales per product.';

-- Stock -------------------------------------------------------------------------------------------

create table if not exists public.inventory (
  product_id bigint not null,
  on_hand integer not null default 0,
  reserved integer not null default 0,
  updated_at timestamptz not null default now(),
  constraint inventory_pkey primary key (product_id),
  constraint inventory_product_id_fkey foreign key (product_id)
    references public.products (id) on delete cascade,
  constraint inventory_on_hand_check check (on_hand >= 0),
  constraint inventory_reserved_check check (reserved >= 0),
  constraint inventory_reserved_on_hand_check check (reserved <= on_hand)
);
comment on table public.inventory is
  'Stock level per product; public for active products, written by admins.';
comment on column public.inventory.product_id is 'Product whose stock this is.';
comment on column public.inventory.on_hand is 'Units physically in stock.';
comment on column public.inventory.reserved is
  'Units held for unshipped orders (never above on_hand).';
comment on column public.inventory.updated_at is
  'When the row was last updated (trigger-maintained).';

create table if not exists public.stock_movements (
  id bigint generated always as identity,
  product_id bigint not null,
  delta integer not null,
  reason public.stock_movement_reason not null,
  order_id bigint,
  created_at timestamptz not null default now(),
  constraint stock_movements_pkey primary key (id),
  constraint stock_movements_product_id_fkey foreign key (product_id)
    references public.products (id) on delete cascade,
  constraint stock_movements_order_id_fkey foreign key (order_id)
    references public.orders (id) on delete set null,
  constraint stock_movements_delta_check check (delta <> 0)
);
comment on table public.stock_movements is 'Ledger of stock changes; admins only.';
comment on column public.stock_movements.id is 'Surrogate key, increasing with time.';
comment on column public.stock_movements.product_id is 'Product whose stock changed.';
comment on column public.stock_movements.delta is 'Units added (positive) or removed (negative).';
comment on column public.stock_movements.reason is 'Why the stock changed.';
comment on column public.stock_movements.order_id is 'Order that caused the movement, if any.';
comment on column public.stock_movements.created_at is 'When the movement happened.';

create index if not exists stock_movements_product_id_idx on public.stock_movements (product_id);
comment on index public.stock_movements_product_id_idx is
  'Foreign key stock_movements_product_id_fkey (product deletes); also a product''s ledger.';

-- Most movements have no order: a partial index keeps order deletes fast without indexing nulls.
create index if not exists stock_movements_order_id_idx on public.stock_movements (order_id)
  where order_id is not null;
comment on index public.stock_movements_order_id_idx is
  'Foreign key stock_movements_order_id_fkey (order deletes).';

-- Triggers ----------------------------------------------------------------------------------------

create or replace function private.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;
comment on function private.set_updated_at() is
  'BEFORE UPDATE trigger: stamps updated_at with the transaction time.';
revoke all on function private.set_updated_at() from public;

create or replace trigger categories_set_updated_at
  before update on public.categories
  for each row execute function private.set_updated_at();
create or replace trigger products_set_updated_at
  before update on public.products
  for each row execute function private.set_updated_at();
create or replace trigger customers_set_updated_at
  before update on public.customers
  for each row execute function private.set_updated_at();
create or replace trigger orders_set_updated_at
  before update on public.orders
  for each row execute function private.set_updated_at();
create or replace trigger inventory_set_updated_at
  before update on public.inventory
  for each row execute function private.set_updated_at();

create or replace function private.check_order_status_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.status is distinct from old.status and not (
    (old.status = 'pending' and new.status in ('paid', 'cancelled'))
    or (old.status = 'paid' and new.status in ('shipped', 'cancelled', 'refunded'))
    or (old.status = 'shipped' and new.status = 'delivered')
    or (old.status = 'delivered' and new.status = 'refunded')
  ) then
    -- check_violation with a constraint name, so clients handle it like the table's CHECKs.
    raise exception 'order % cannot go from % to %', old.id, old.status, new.status
      using errcode = 'check_violation',
        constraint = 'orders_status_transition_check',
        table = 'orders',
        schema = 'public',
        column = 'status';
  end if;
  return new;
end
$$;
comment on function private.check_order_status_transition() is
  'BEFORE UPDATE trigger on orders: rejects status changes outside the lifecycle (SQLSTATE 23514).';
revoke all on function private.check_order_status_transition() from public;

create or replace trigger orders_check_status_transition
  before update of status on public.orders
  for each row execute function private.check_order_status_transition();
