-- The local Auth's tables from supabase/local/compat.sql (plain Postgres and PGlite only): sessions
-- and refresh tokens behind RLS with no privilege for the API roles, cascading from auth.users,
-- and pgcrypto's bcrypt producing the hashes Supabase Auth writes.
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;
select plan(10);

select has_table('auth', 'sessions', 'auth.sessions exists');
select has_table('auth', 'refresh_tokens', 'auth.refresh_tokens exists');
select ok(
  (select bool_and(c.relrowsecurity) from pg_catalog.pg_class c
   where c.oid in ('auth.sessions'::regclass, 'auth.refresh_tokens'::regclass)),
  'RLS is on for both tables');
select is(
  (select count(*)::int from unnest(array['anon', 'authenticated', 'service_role']) r(role),
     unnest(array['auth.sessions', 'auth.refresh_tokens']) t(tab),
     unnest(array['select', 'insert', 'update', 'delete']) p(priv)
   where has_table_privilege(r.role, t.tab, p.priv)),
  0, 'the API roles have no privilege on sessions or refresh tokens');
select col_is_unique('auth', 'refresh_tokens', 'token', 'a refresh token is unique');

-- bcrypt as Supabase Auth stores it: $2a$, cost 10; a wrong password does not match.
select matches(
  extensions.crypt('s3cret-pass', extensions.gen_salt('bf', 10)), '^\$2a\$10\$.{53}$',
  'gen_salt(bf, 10) gives a $2a$10$ bcrypt hash');
select ok(
  (select h = extensions.crypt('s3cret-pass', h) and h <> extensions.crypt('wrong', h)
   from (select extensions.crypt('s3cret-pass', extensions.gen_salt('bf', 10)) h) x),
  'crypt() verifies the right password only');

-- Deleting a user removes their sessions and refresh tokens.
insert into auth.users (id, aud, role, email, encrypted_password)
values ('4a000000-0000-4000-8000-000000000400', 'authenticated', 'authenticated',
        'pgtap.local.auth@example.com', '');
insert into auth.sessions (id, user_id, created_at, updated_at, aal)
values ('4a000000-0000-4000-8000-000000000401', '4a000000-0000-4000-8000-000000000400',
        now(), now(), 'aal1');
insert into auth.refresh_tokens (token, user_id, revoked, session_id, created_at, updated_at)
values ('pgtaptoken40', '4a000000-0000-4000-8000-000000000400', false,
        '4a000000-0000-4000-8000-000000000401', now(), now());
select throws_ok(
  $$insert into auth.refresh_tokens (token, session_id) values ('pgtaptoken40', null)$$,
  '23505', null, 'a refresh token cannot be issued twice');
delete from auth.users where id = '4a000000-0000-4000-8000-000000000400';
select is((select count(*)::int from auth.sessions
           where user_id = '4a000000-0000-4000-8000-000000000400'), 0,
  'the user''s sessions went with them');
select is((select count(*)::int from auth.refresh_tokens where token = 'pgtaptoken40'), 0,
  'and their refresh tokens');

select * from finish();
rollback;
