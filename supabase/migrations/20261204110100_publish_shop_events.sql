-- Shop events into the notifications outbox, in the transaction that causes them: order.placed when
-- an order is placed (the customer's confirmation email), stock.low when a product's available stock
-- crosses the low-stock threshold downwards. A rolled-back order or stock change queues nothing.

create or replace function notify.publish_order_placed()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_payload jsonb;
begin
  -- A deferred trigger: it runs at commit, when the order's lines exist, and sees the order as the
  -- transaction leaves it (cancelled in the same transaction: no confirmation).
  select pg_catalog.jsonb_build_object(
           'order', pg_catalog.jsonb_build_object(
             'id', o.id, 'status', o.status, 'currency', o.currency,
             'subtotal_cents', o.subtotal_cents, 'shipping_cents', o.shipping_cents,
             'total_cents', o.total_cents, 'item_count', o.item_count, 'placed_at', o.placed_at),
           'items', coalesce((
             select pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                      'line_no', i.line_no, 'sku', p.sku, 'name', p.name, 'quantity', i.quantity,
                      'unit_price_cents', i.unit_price_cents, 'line_total_cents', i.line_total_cents)
                    order by i.line_no)
             from public.order_items i
             join public.products p on p.id = i.product_id
             where i.order_id = o.id), '[]'::jsonb),
           'customer', pg_catalog.jsonb_build_object(
             'id', c.id, 'email', c.email, 'full_name', c.full_name),
           'locale', coalesce(
             (select u.raw_user_meta_data ->> 'locale' from auth.users u
              where u.id = c.id and u.raw_user_meta_data ->> 'locale' in ('en', 'fr')),
             'en'))
  into v_payload
  from public.orders o
  join public.customers c on c.id = o.customer_id
  where o.id = new.id and o.status = 'pending';
  if v_payload is not null then
    perform notify.publish('order.placed', v_payload, '{}'::jsonb, 'order-' || new.id,
                           'order-' || new.id || '-placed');
  end if;
  return null;
end
$$;
comment on function notify.publish_order_placed() is
  'Deferred row trigger on public.orders: publishes order.placed (order, lines, customer, locale) '
  'at commit for an order placed as pending, once per order.';

drop trigger if exists orders_publish_placed on public.orders;
create constraint trigger orders_publish_placed
  after insert on public.orders
  deferrable initially deferred
  for each row
  when (new.status = 'pending' and new.customer_id is not null)
  execute function notify.publish_order_placed();
comment on trigger orders_publish_placed on public.orders is
  'Queues the order confirmation in the order''s own transaction (bulk loads that run as '
  'session_replication_role = replica, like the demo generator, skip it).';

create or replace function notify.publish_stock_low()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_threshold integer := metrics.low_stock_threshold();
  v_product record;
begin
  if new.on_hand - new.reserved > v_threshold or old.on_hand - old.reserved <= v_threshold then
    return null;
  end if;
  select p.id, p.sku, p.name into v_product
  from public.products p
  where p.id = new.product_id and p.active;
  if not found then
    return null;
  end if;
  perform notify.publish(
    'stock.low',
    pg_catalog.jsonb_build_object(
      'product', pg_catalog.jsonb_build_object('id', v_product.id, 'sku', v_product.sku,
                                               'name', v_product.name),
      'available', new.on_hand - new.reserved, 'on_hand', new.on_hand, 'reserved', new.reserved,
      'threshold', v_threshold),
    pg_catalog.jsonb_build_object('sku', v_product.sku),
    'product-' || v_product.id);
  return null;
end
$$;
comment on function notify.publish_stock_low() is
  'Row trigger on public.inventory: publishes stock.low when available stock (on_hand - reserved) '
  'goes from above metrics.low_stock_threshold() to at or below it.';

drop trigger if exists inventory_publish_stock_low on public.inventory;
create trigger inventory_publish_stock_low
  after update of on_hand, reserved on public.inventory
  for each row
  when (new.on_hand - new.reserved < old.on_hand - old.reserved)
  execute function notify.publish_stock_low();
comment on trigger inventory_publish_stock_low on public.inventory is
  'Queues stock.low in the transaction that lowers available stock past the threshold.';

revoke all on function notify.publish_order_placed(), notify.publish_stock_low()
from public, anon, authenticated, service_role;
