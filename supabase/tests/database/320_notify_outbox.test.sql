-- The notifications outbox: enqueue and publish inside the caller's transaction, bad input refused
-- with nothing queued, claims under a lease with per-key order, outcomes, dead letters, retries,
-- retention, the shop triggers, the scheduled jobs and who may touch any of it.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(65);

delete from notify.messages;
delete from notify.routes;
delete from notify.destinations;
insert into notify.destinations (channel, name, locale, config) values
  ('slack', 'ops', 'en', '{"url_env": "COMPTOIR_NOTIFY_SLACK_OPS_URL"}'),
  ('webhook', 'partner', 'fr', '{"url_env": "COMPTOIR_NOTIFY_W_URL", "secret_env": "COMPTOIR_NOTIFY_W_SECRET"}'),
  ('pagerduty', 'oncall', 'en', '{"routing_key_env": "COMPTOIR_NOTIFY_PD_KEY"}'),
  ('email', 'ops', 'en', '{"to": ["ops@example.com"]}');
insert into notify.routes (name, event, channel, destination, destination_path, template, match) values
  ('al-slack', 'alert.firing', 'slack', 'ops', null, 'alert.firing', '{}'),
  ('al-pd', 'alert.firing', 'pagerduty', 'oncall', null, 'alert.firing', '{"severity": "critical"}'),
  ('al-team', 'alert.firing', 'webhook', 'partner', null, 'alert.firing',
    '{"team": ["shop", "data"]}'),
  ('or-email', 'order.placed', 'email', null, '{customer,email}', 'order.confirmation', '{}'),
  ('st-slack', 'stock.low', 'slack', 'ops', null, 'stock.low', '{}');

create function pg_temp.alert() returns jsonb language sql as $$
  select '{"group_key": "g", "status": "firing", "alerts": [{"fingerprint": "0123456789abcdef"}]}'::jsonb
$$;
create function pg_temp.stock() returns jsonb language sql as $$
  select '{"product": {"id": 1, "sku": "X-1", "name": "X"}, "available": 1, "threshold": 5}'::jsonb
$$;
create function pg_temp.queued() returns bigint language sql as $$
  select count(*) from notify.messages
$$;

-- Access -------------------------------------------------------------------------------------------

select is(
  (select count(*)::int from pg_catalog.pg_tables where schemaname = 'notify' and not rowsecurity),
  0, 'every outbox table has row level security');
select ok(not has_schema_privilege('anon', 'notify', 'usage'), 'anon cannot reach the outbox');
select ok(not has_schema_privilege('authenticated', 'notify', 'usage'),
  'signed-in users cannot reach the outbox');
select ok(has_function_privilege('service_role',
  'notify.enqueue(text, text, text, jsonb, text, text)', 'execute'), 'the service role enqueues');
select ok(not has_function_privilege('authenticated',
  'notify.publish(text, jsonb, jsonb, text, text)', 'execute'), 'users cannot publish');
select ok(not has_table_privilege('service_role', 'notify.messages', 'insert'),
  'the service role queues only through enqueue');
select ok(not has_function_privilege('service_role', 'private.invoke_function(text, text)', 'execute'),
  'only the scheduler invokes functions with the service key');

-- Enqueue ----------------------------------------------------------------------------------------

select isnt(notify.enqueue('slack', 'ops', 'stock.low', pg_temp.stock()), null,
  'enqueue returns the new message id');
select results_eq(
  $$select channel, destination, template, status, attempts, locale, message_id = id::text
    from notify.messages$$,
  $$values ('slack'::text, 'ops'::text, 'stock.low'::text, 'pending'::text, 0, 'en'::text, true)$$,
  'the message is pending, never tried, with its own id as stable id');
select is(
  notify.enqueue('webhook', 'partner', 'stock.low', pg_temp.stock(), 'k', 'dup-1'),
  notify.enqueue('webhook', 'partner', 'stock.low', pg_temp.stock() || '{"available": 0}', 'k', 'dup-1'),
  'a repeated message id returns the first message');
select is((select count(*)::int from notify.messages where message_id = 'dup-1'), 1,
  'and queues nothing more');
select is((select locale from notify.messages where message_id = 'dup-1'), 'fr',
  'the destination''s locale applies');
select isnt(notify.enqueue('email', 'anna@example.com', 'stock.low', pg_temp.stock() || '{"locale": "fr"}',
                           null, 'to-anna'), null, 'an email may go to an address');
select is((select locale from notify.messages where message_id = 'to-anna'), 'fr',
  'and takes the payload''s locale');

savepoint before_rollback;
select notify.enqueue('slack', 'ops', 'stock.low', pg_temp.stock(), null, 'rolled-back');
rollback to savepoint before_rollback;
select is((select count(*)::int from notify.messages where message_id = 'rolled-back'), 0,
  'a rolled-back transaction queues nothing');

create temporary table before_bad as select pg_temp.queued() as n;
select throws_ok($$select notify.enqueue('sms', 'ops', 'stock.low', '{}')$$,
  '22023', 'unknown channel sms', 'an unknown channel is refused');
select throws_ok($$select notify.enqueue('slack', 'ops', 'nope', '{}')$$,
  '22023', 'unknown template nope', 'an unknown template is refused');
select throws_ok($$select notify.enqueue('pagerduty', 'oncall', 'stock.low', pg_temp.stock())$$,
  '22023', 'template stock.low has no pagerduty version', 'a template of another channel is refused');
select throws_ok($$select notify.enqueue('slack', 'nobody', 'stock.low', pg_temp.stock())$$,
  '22023', 'unknown slack destination nobody', 'an unknown destination is refused');
select throws_ok($$select notify.enqueue('email', 'not an address', 'stock.low', pg_temp.stock())$$,
  '22023', 'unknown email destination not an address', 'an invalid address is refused');
select throws_ok($$select notify.enqueue('slack', 'ops', 'stock.low', '{"product": {"id": 1}}')$$,
  '22023', 'template stock.low needs payload keys available, threshold',
  'missing variables are named');
select throws_ok($$select notify.enqueue('slack', 'ops', 'stock.low', '[1]')$$,
  '22023', 'payload must be a JSON object', 'a payload must be an object');
select throws_ok(
  $$select notify.enqueue('slack', 'ops', 'stock.low',
      pg_temp.stock() || jsonb_build_object('blob', repeat('x', 70000)))$$,
  '54000', null, 'an oversize payload is refused');
select throws_ok($$select notify.enqueue('slack', 'ops', 'stock.low', pg_temp.stock() || '{"locale": "de"}')$$,
  '22023', 'unknown locale de', 'an unknown locale is refused');
select throws_ok($$select notify.enqueue('slack', 'ops', 'stock.low', pg_temp.stock(), null, 'has space')$$,
  '22023', null, 'a message id with spaces is refused');
select is(pg_temp.queued(), (select n from before_bad), 'bad input queued nothing');

-- Publish ----------------------------------------------------------------------------------------

delete from notify.messages;
select is(notify.publish('alert.firing', pg_temp.alert(), '{"severity": "critical", "team": "shop"}',
                         null, 'grp-1'),
  3, 'a critical shop alert matches Slack, PagerDuty and the team webhook');
select is(notify.publish('alert.firing', pg_temp.alert(), '{"severity": "critical", "team": "shop"}',
                         null, 'grp-1'),
  0, 'the same event id queues nothing twice');
select set_eq($$select message_id from notify.messages$$,
  $$values ('grp-1/al-slack'), ('grp-1/al-pd'), ('grp-1/al-team')$$,
  'message ids are the event id and the route');
select is(notify.publish('alert.firing', pg_temp.alert(), '{"severity": "warning", "team": "web"}'),
  1, 'a warning of another team reaches Slack only');
select is(notify.publish('alert.firing', pg_temp.alert()), 1,
  'without attributes only unconditional routes match');
select is(notify.publish('nothing.routed', '{}'), 0, 'an event without routes queues nothing');
select throws_ok($$select notify.publish('Bad Event', '{}')$$, '22023', null,
  'a malformed event name is refused');
select throws_ok($$select notify.publish('alert.firing', '{"status": "firing"}')$$, '22023',
  'template alert.firing needs payload keys alerts, group_key',
  'a publish whose payload misses variables is refused whole');
select is((select event from notify.messages where message_id = 'grp-1/al-pd'), 'alert.firing',
  'messages remember their event');

-- Claim, settle, release ---------------------------------------------------------------------------

delete from notify.messages;
select notify.enqueue('webhook', 'partner', 'stock.low', pg_temp.stock(), 'key-a', 'a1');
select notify.enqueue('webhook', 'partner', 'stock.low', pg_temp.stock(), 'key-a', 'a2');
select notify.enqueue('webhook', 'partner', 'stock.low', pg_temp.stock(), 'key-b', 'b1');
select notify.enqueue('slack', 'ops', 'stock.low', pg_temp.stock(), 'key-a', 's1');

select set_eq($$select message_id from notify.claim('w1', 10)$$,
  $$values ('a1'), ('b1'), ('s1')$$,
  'a claim takes the oldest message of each key and destination');
select is((select count(*)::int from notify.claim('w2', 10)), 0,
  'a second worker gets nothing while the first holds them');
select results_eq($$select status, attempts, lease_owner from notify.messages where message_id = 'a1'$$,
  $$values ('sending'::text, 1, 'w1'::text)$$, 'a claimed message is sending, leased, attempt 1');
select is(notify.settle((select id from notify.messages where message_id = 'a1'), 'w1', 'delivered'),
  'delivered', 'a delivered outcome');
select is((select message_id from notify.claim('w2', 10)), 'a2',
  'the next message of the key comes out once the first is delivered');
select is(notify.settle((select id from notify.messages where message_id = 'a2'), 'w2', 'retry',
                        'http 503', 503, now() + interval '1 hour'),
  'failed', 'a temporary failure is retried later');
select ok((select next_attempt_at > now() + interval '59 minutes' and last_error = 'http 503'
           from notify.messages where message_id = 'a2'), 'at the time the worker chose, with the reason');
select is((select count(*)::int from notify.claim('w3', 10)), 0, 'not before its time');

update notify.messages set lease_until = now() - interval '1 second' where message_id = 'b1';
select is((select message_id from notify.claim('w3', 10)), 'b1',
  'a crashed worker''s message comes back after its lease');
select is(notify.settle((select id from notify.messages where message_id = 'b1'), 'w1', 'delivered'),
  'lease_lost', 'the worker that lost the lease cannot settle it');
select is((select outcome from notify.attempts a join notify.messages m on m.id = a.message
           where m.message_id = 'b1' and a.worker = 'w1'), 'lease_lost',
  'its late attempt is recorded');
select ok(notify.release((select id from notify.messages where message_id = 'b1'), 'w3',
                         now() + interval '10 minutes'), 'a worker hands back a message unsent');
select results_eq($$select status, attempts from notify.messages where message_id = 'b1'$$,
  $$values ('failed'::text, 1)$$, 'the handed-back claim does not count as an attempt');

update notify.settings set max_attempts = 2 where id;
update notify.messages set next_attempt_at = now() where message_id = 'b1';
select is((select count(*)::int from notify.claim('w4', 10)), 1, 'the failed message comes due again');
select is(notify.settle((select id from notify.messages where message_id = 'b1'), 'w4', 'retry',
                        'timeout: timeout', null, now()),
  'dead', 'past max_attempts a failure is dead');
select matches((select last_error from notify.messages where message_id = 'b1'),
  '^gave up after 2 attempts: timeout', 'with why it was given up');
select is(notify.settle((select id from notify.messages where message_id = 's1'), 'w1', 'permanent',
                        'http 404: channel_not_found', 404),
  'dead', 'a permanent failure is dead at once');
update notify.settings set max_attempts = 40 where id;

select is(notify.retry((select id from notify.messages where message_id = 's1')), true,
  'a dead letter can be retried');
select results_eq($$select status, attempts from notify.messages where message_id = 's1'$$,
  $$values ('pending'::text, 0)$$, 'with fresh attempts');
select is(notify.retry((select id from notify.messages where message_id = 'a1')), false,
  'a delivered message is not retried');
select is(notify.retry_dead(), 1, 'every dead letter can be retried at once');

-- Retention and metrics ----------------------------------------------------------------------------

create temporary table enqueued_before as
  select value from notify.scrape()
  where name = 'comptoir_notifications_enqueued_total' and labels ->> 'channel' = 'webhook';
update notify.messages set delivered_at = now() - interval '8 days' where message_id = 'a1';
select is(notify.purge(), 1::bigint, 'delivered messages past retention are purged');
select is(
  (select value from notify.scrape()
   where name = 'comptoir_notifications_enqueued_total' and labels ->> 'channel' = 'webhook'),
  (select value from enqueued_before), 'the enqueued total does not go down when rows are purged');
select is(
  (select value from notify.scrape()
   where name = 'comptoir_notifications_backlog' and labels ->> 'channel' = 'webhook'),
  2::double precision, 'the backlog counts undelivered messages');

-- Shop triggers ------------------------------------------------------------------------------------

delete from notify.messages;
insert into auth.users (id, aud, role, email, raw_user_meta_data) values
  ('00000000-0000-4000-8000-000000032001', 'authenticated', 'authenticated', 'nt-a@example.com',
   '{"full_name": "Nadia T", "locale": "fr"}');
insert into public.categories (name, slug) values ('NT tests', 'nt-tests');
insert into public.products (sku, name, price_cents, category_id)
values ('NT-TEST-1', 'Notify test', 500, (select id from public.categories where slug = 'nt-tests'));
insert into public.inventory (product_id, on_hand, reserved)
select id, 20, 0 from public.products where sku = 'NT-TEST-1';
set local comptoir.low_stock_threshold = 10;

create temporary table placed as
  select * from shop_api.place_order('00000000-0000-4000-8000-000000032001',
                                     '[{"sku": "NT-TEST-1", "quantity": 3}]');
select is((select count(*)::int from notify.messages where template = 'order.confirmation'), 0,
  'the confirmation waits for the order''s commit');
set constraints all immediate;
select results_eq(
  $$select channel, destination, locale, (payload -> 'order' ->> 'id')::bigint,
           payload -> 'items' -> 0 ->> 'sku'
    from notify.messages where template = 'order.confirmation'$$,
  $$select 'email'::text, 'nt-a@example.com'::text, 'fr'::text, order_id, 'NT-TEST-1'::text from placed$$,
  'placing an order queues its confirmation to the customer, in their language, with its lines');
select is((select count(*)::int from notify.messages where template = 'stock.low'), 0,
  'stock above the threshold raises nothing');
update public.inventory set on_hand = 12
where product_id = (select id from public.products where sku = 'NT-TEST-1');
select results_eq(
  $$select (payload ->> 'available')::int, (payload ->> 'threshold')::int
    from notify.messages where template = 'stock.low'$$,
  $$values (9, 10)$$, 'crossing the low-stock threshold queues stock.low');
update public.inventory set on_hand = 11
where product_id = (select id from public.products where sku = 'NT-TEST-1');
select is((select count(*)::int from notify.messages where template = 'stock.low'), 1,
  'staying below the threshold does not repeat it');

-- Jobs --------------------------------------------------------------------------------------------

select set_eq(
  $$select name, command from private.scheduled_jobs where name like 'notify-%'$$,
  $$values ('notify-deliver'::text, 'select private.invoke_function(''notifications'', ''/deliver'')'::text),
           ('notify-purge'::text, 'select notify.purge()'::text)$$,
  'delivery and retention are scheduled jobs');

select * from finish();
rollback;
