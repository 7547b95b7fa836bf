-- Order placement that answers with the order's document, and the top products of a window as a
-- query of their own: one statement per API call instead of a transaction of several.

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

create or replace function public.top_products(p_days integer default 30, p_limit integer default 10)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set jit = off
as $$
declare
  v_document jsonb;
  v_today date := (now() at time zone 'UTC')::date;
begin
  if not private.caller_reads_all_orders() then
    raise exception 'top products are for admins' using errcode = 'insufficient_privilege';
  end if;
  if p_days is null or p_days not between 1 and 366 or p_limit is null
     or p_limit not between 1 and 10 then
    raise exception 'p_days must be between 1 and 366 and p_limit between 1 and 10'
      using errcode = 'invalid_parameter_value';
  end if;
  -- A standard window's ranking is in the precomputed dashboard while it covers today.
  select r.document -> 'top_products' into v_document
  from private.sales_dashboard_realtime r
  where r.window_days = p_days and r.to_day = v_today;
  if v_document is null then
    -- Only the lines of the window's orders, ranked as sales_dashboard_compute ranks them.
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'product_id', t.product_id, 'sku', p.sku, 'name', p.name, 'units', t.units,
        'revenue_cents', t.revenue_cents)
        order by t.revenue_cents desc, t.units desc, t.product_id), '[]'::jsonb)
    into v_document
    from (
      select i.product_id, sum(i.quantity)::bigint as units,
        sum(i.line_total_cents)::bigint as revenue_cents
      from public.orders o
      join public.order_items i on i.order_id = o.id
      where o.placed_at >= ((v_today - (p_days - 1))::timestamp at time zone 'UTC')
        and o.placed_at < ((v_today + 1)::timestamp at time zone 'UTC')
        and o.status in ('paid', 'shipped', 'delivered')
        -- Implied by the join (ids grow with time): only the end of order_items is read.
        and i.order_id >= (
          select min(o2.id) from public.orders o2
          where o2.placed_at >= ((v_today - (p_days - 1))::timestamp at time zone 'UTC')
        )
      group by i.product_id
      order by revenue_cents desc, units desc, i.product_id
      limit 10
    ) t
    join public.products p on p.id = t.product_id;
  end if;
  return (
    select coalesce(pg_catalog.jsonb_agg(e.value order by e.ordinality), '[]'::jsonb)
    from pg_catalog.jsonb_array_elements(v_document) with ordinality e
    where e.ordinality <= p_limit
  );
end
$$;
comment on function public.top_products(integer, integer) is
  'The p_limit (at most 10) best-selling products of the last p_days UTC days, as the dashboard''s '
  'top_products: from sales_dashboard_realtime for a standard window that covers today, else from '
  'the window''s order lines only. Admins and the service role (others: SQLSTATE 42501).';

revoke all on function
  shop_api.place_order_document(uuid, jsonb, text, text),
  public.top_products(integer, integer)
from public, anon, authenticated, service_role;
grant execute on function shop_api.place_order_document(uuid, jsonb, text, text) to service_role;
grant execute on function public.top_products(integer, integer) to authenticated, service_role;
