-- The samples of seasonal rules keep the seasonal median each value was judged against, which the
-- day's level factor of later evaluations is computed from; the service role writes it, admins
-- read it, customers see nothing.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(5);

select has_column('alerting', 'samples', 'seasonal', 'samples record the seasonal median');
select col_type_is('alerting', 'samples', 'seasonal', 'double precision',
  'the seasonal median is a double precision');
select col_is_null('alerting', 'samples', 'seasonal',
  'rules without a seasonal baseline leave it null');

insert into alerting.samples (rule, fingerprint, at, value, seasonal)
values ('OrderDrop', '0123456789abcdef', now() - interval '1 hour', 70, 100);

set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "00000000-0000-0000-0000-000000000001", "role": "authenticated"}', true);
select is((select count(*)::int from alerting.samples), 0, 'a customer sees no sample');
select set_config('request.jwt.claims',
  '{"sub": "00000000-0000-0000-0000-000000000002", "role": "authenticated", "app_metadata": {"role": "admin"}}', true);
select is((select value / seasonal from alerting.samples where rule = 'OrderDrop'), 0.7::float8,
  'an admin reads the ratio of a sample to its seasonal median');

select * from finish();
rollback;
