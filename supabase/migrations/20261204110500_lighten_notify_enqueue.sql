-- Queuing a notification runs inside the caller's transaction (an order's commit), so every index
-- a new message enters is paid by the order. The full (status, created_at) index is replaced by
-- partial ones that a message enters only when it is delivered or dead (retention, the dead-letter
-- list); an order's confirmation no longer takes an ordering key (an order has one confirmation);
-- routes without conditions skip the attribute check; and the scrape reads the table once.

drop index if exists notify.messages_status_created_at_idx;

create index if not exists messages_delivered_at_idx on notify.messages (delivered_at)
  where status = 'delivered';
comment on index notify.messages_delivered_at_idx is
  'notify.purge(): delivered messages past keep_delivered.';
create index if not exists messages_dead_idx on notify.messages (updated_at, id)
  where status = 'dead';
comment on index notify.messages_dead_idx is
  'The dead-letter list (newest first, paginated by updated_at, id) and notify.purge().';

create or replace function notify.publish(
  p_event text,
  p_payload jsonb,
  p_attributes jsonb default '{}'::jsonb,
  p_ordering_key text default null,
  p_message_id text default null
)
returns integer
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_route record;
  v_destination text;
  v_count integer := 0;
begin
  if p_event is null or p_event !~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' then
    raise exception 'malformed event name %', coalesce(p_event, 'null')
      using errcode = 'invalid_parameter_value', hint = 'events look like alert.firing or order.placed';
  end if;
  if p_attributes is null or jsonb_typeof(p_attributes) <> 'object' then
    raise exception 'attributes must be a JSON object' using errcode = 'invalid_parameter_value';
  end if;
  if p_message_id is not null and char_length(p_message_id) > 160 then
    raise exception 'message id of an event must have at most 160 characters'
      using errcode = 'invalid_parameter_value';
  end if;
  for v_route in
    select r.name, r.channel, r.destination, r.destination_path, r.template
    from notify.routes r
    where r.enabled and r.event = p_event
      and (r.match = '{}'::jsonb or not exists (
        select 1 from jsonb_each(r.match) c(key, value)
        where not coalesce(
          case when jsonb_typeof(c.value) = 'array'
            then c.value @> jsonb_build_array(p_attributes -> c.key)
            else p_attributes -> c.key = c.value
          end, false)
      ))
    order by r.name
  loop
    v_destination := coalesce(v_route.destination, p_payload #>> v_route.destination_path);
    if v_destination is null then
      raise notice 'notify: route % skipped, payload has no %', v_route.name,
        array_to_string(v_route.destination_path, '.');
      continue;
    end if;
    if (notify.enqueue_message(v_route.channel, v_destination, v_route.template, p_payload,
                               p_ordering_key, p_message_id || '/' || v_route.name, p_event)).queued
    then
      v_count := v_count + 1;
    end if;
  end loop;
  return v_count;
end
$$;

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
    -- One confirmation per order, so no ordering key: the id alone keeps it from being queued twice.
    perform notify.publish('order.placed', v_payload, '{}'::jsonb, null,
                           'order-' || new.id || '-placed');
  end if;
  return null;
end
$$;

create or replace function notify.scrape()
returns table (name text, labels jsonb, value double precision)
language sql
stable
security definer
set search_path = ''
as $$
  with channels(channel) as (values ('slack'), ('email'), ('webhook'), ('pagerduty')),
  counted as (
    -- One pass over the table for every figure.
    select m.channel, count(*) as messages,
           count(*) filter (where m.status in ('pending', 'sending', 'failed')) as backlog,
           count(*) filter (where m.status = 'dead') as dead,
           extract(epoch from now() - min(m.created_at)
             filter (where m.status in ('pending', 'sending', 'failed'))) as oldest
    from notify.messages m
    group by m.channel
  ),
  per_channel as (
    select c.channel,
           coalesce(n.messages, 0) + coalesce(p.messages, 0) as enqueued,
           coalesce(n.backlog, 0) as backlog,
           coalesce(n.dead, 0) as dead,
           greatest(coalesce(n.oldest, 0), 0) as oldest
    from channels c
    left join counted n on n.channel = c.channel
    left join notify.purged_counts p on p.channel = c.channel
  )
  select 'comptoir_notifications_enqueued_total'::text,
         pg_catalog.jsonb_build_object('channel', p.channel), p.enqueued::double precision
  from per_channel p
  union all
  select 'comptoir_notifications_backlog'::text,
         pg_catalog.jsonb_build_object('channel', p.channel), p.backlog::double precision
  from per_channel p
  union all
  select 'comptoir_notifications_dead_letters'::text,
         pg_catalog.jsonb_build_object('channel', p.channel), p.dead::double precision
  from per_channel p
  union all
  select 'comptoir_notifications_oldest_pending_age_seconds'::text,
         pg_catalog.jsonb_build_object('channel', p.channel), p.oldest::double precision
  from per_channel p
$$;

-- One lookup for the template, the destination and the settings, and the payload checks on the
-- stored form (no JSON text is rendered): the same checks and messages as before.
create or replace function notify.enqueue_message(
  p_channel text,
  p_destination text,
  p_template text,
  p_payload jsonb,
  p_ordering_key text,
  p_message_id text,
  p_event text,
  out id uuid,
  out queued boolean
)
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_channels text[];
  v_required text[];
  v_found_template boolean;
  v_named_locale text;
  v_max_bytes integer;
  v_max_age interval;
  v_locale text;
  v_missing text[];
  v_bytes integer;
  v_id uuid;
begin
  if p_channel is null or p_channel not in ('slack', 'email', 'webhook', 'pagerduty') then
    raise exception 'unknown channel %', coalesce(p_channel, 'null')
      using errcode = 'invalid_parameter_value',
        hint = 'channel is one of slack, email, webhook, pagerduty';
  end if;
  select t.channels, t.required, t.name is not null, d.locale, s.max_payload_bytes, s.max_age
  into v_channels, v_required, v_found_template, v_named_locale, v_max_bytes, v_max_age
  from notify.settings s
  left join notify.templates t on t.name = p_template
  left join notify.destinations d on d.channel = p_channel and d.name = p_destination
  where s.id;
  if not coalesce(v_found_template, false) then
    raise exception 'unknown template %', coalesce(p_template, 'null')
      using errcode = 'invalid_parameter_value';
  end if;
  if not (p_channel = any (v_channels)) then
    raise exception 'template % has no % version', p_template, p_channel
      using errcode = 'invalid_parameter_value';
  end if;

  if p_destination is null then
    raise exception 'destination is required' using errcode = 'invalid_parameter_value';
  end if;
  v_locale := v_named_locale;
  if v_locale is null then
    if p_channel = 'email' and p_destination ~ '^[^@[:space:]<>",;]+@[^@[:space:]<>",;]+\.[^@[:space:]<>",;]+$'
       and char_length(p_destination) <= 320 then
      v_locale := 'en';
    else
      raise exception 'unknown % destination %', p_channel, p_destination
        using errcode = 'invalid_parameter_value',
          hint = case when p_channel = 'email' then 'name a destination of config/notifications.json or give an address'
                 else 'name a destination of config/notifications.json' end;
    end if;
  end if;

  if p_payload is null or jsonb_typeof(p_payload) <> 'object' then
    raise exception 'payload must be a JSON object' using errcode = 'invalid_parameter_value';
  end if;
  -- The stored size is within a few percent of the JSON text and needs no rendering; the text is
  -- measured only when the stored size comes close to the limit.
  v_bytes := pg_catalog.pg_column_size(p_payload);
  if v_bytes > v_max_bytes / 2 then
    v_bytes := octet_length(p_payload::text);
  end if;
  if v_bytes > v_max_bytes then
    raise exception 'payload of % bytes is over the limit of % bytes', v_bytes, v_max_bytes
      using errcode = 'program_limit_exceeded';
  end if;
  if not (p_payload ?& v_required) or exists (
    select 1 from jsonb_each(p_payload) e where e.value = 'null'::jsonb and e.key = any (v_required)
  ) then
    select array_agg(k order by k) into v_missing
    from unnest(v_required) k
    where p_payload -> k is null or p_payload -> k = 'null'::jsonb;
    raise exception 'template % needs payload keys %', p_template, array_to_string(v_missing, ', ')
      using errcode = 'invalid_parameter_value';
  end if;
  if p_payload ? 'locale' then
    if p_payload ->> 'locale' not in ('en', 'fr') then
      raise exception 'unknown locale %', p_payload ->> 'locale'
        using errcode = 'invalid_parameter_value', hint = 'locale is en or fr';
    end if;
    v_locale := p_payload ->> 'locale';
  end if;
  if p_ordering_key is not null and char_length(p_ordering_key) not between 1 and 200 then
    raise exception 'ordering key must have 1 to 200 characters' using errcode = 'invalid_parameter_value';
  end if;
  if p_message_id is not null and p_message_id !~ '^[[:graph:]]{1,200}$' then
    raise exception 'message id must be 1 to 200 visible characters without spaces'
      using errcode = 'invalid_parameter_value';
  end if;

  v_id := gen_random_uuid();
  insert into notify.messages as m (id, message_id, channel, destination, template, locale, payload,
                                    event, ordering_key, expires_at)
  values (v_id, coalesce(p_message_id, v_id::text), p_channel, p_destination, p_template, v_locale,
          p_payload, p_event, p_ordering_key, now() + v_max_age)
  on conflict (message_id) do nothing;
  queued := found;
  if not queued then
    -- The same message was queued before (a retried transaction, a repeated alert): keep the first.
    select m.id into v_id from notify.messages m where m.message_id = p_message_id;
  end if;
  id := v_id;
end
$$;
