-- Order placement that answers with the order's document: one statement per order instead of a
-- transaction of several (the top products of a window, a query of their own, are in
-- 20261204100200_create_sales_rollups.sql).

create or replace function shop_api.place_order_document(
  p_customer_id uuid,
  p_items jsonb,
  p_idempotency_key text default null,
  p_request_hash text default null
)
returns table (document jsonb, replayed boolean)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_order bigint;
  v_replayed boolean;
begin
  select p.order_id, p.replayed into v_order, v_replayed
  from shop_api.place_order(p_customer_id, p_items, p_idempotency_key, p_request_hash) p;
  -- The order is the customer's own (placed, or replayed for their key): its document is what
  -- order_details shows them.
  return query select public.order_details(v_order), v_replayed;
end
$$;
comment on function shop_api.place_order_document(uuid, jsonb, text, text) is
  'shop_api.place_order, answering with the order''s document (public.order_details) and whether '
  'it replays an earlier request with the same Idempotency-Key: the api places an order and '
  'presents it in one statement.';

revoke all on function shop_api.place_order_document(uuid, jsonb, text, text)
from public, anon, authenticated, service_role;
grant execute on function shop_api.place_order_document(uuid, jsonb, text, text) to service_role;
