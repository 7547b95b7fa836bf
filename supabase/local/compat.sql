-- Supabase compatibility for plain PostgreSQL 15 and PGlite; never applied on Supabase itself.
--
-- Gives a bare database what the Supabase image ships before any migration runs: the API roles,
-- the `auth` schema with `auth.users` and the JWT claim helpers, the `extensions` schema and the
-- default privileges Supabase sets on `public`. Definitions follow supabase/postgres and
-- supabase/auth so migrations, RLS policies and pgTAP tests behave the same here and there.
--
-- Re-runnable: roles are created only when missing (they are cluster-wide and may come from another
-- database of the same cluster); each block changes nothing where its objects already exist
-- (`auth.users` for the roles and schema, `auth.sessions` for the local Auth's tables).

do $compat$
begin
  if to_regclass('auth.users') is not null then
    raise notice 'compat: auth.users exists, nothing to do';
    return;
  end if;

  -- API roles, as created by supabase/postgres (migrations/db/init-scripts).
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  grant anon, authenticated, service_role to authenticator;

  create schema if not exists extensions;
  grant usage on schema extensions to anon, authenticated, service_role;

  -- What Supabase grants on `public`: usage for the API roles, and default privileges that expose
  -- every new table, sequence and function to them. Migrations revoke what should stay hidden.
  grant usage on schema public to anon, authenticated, service_role;
  alter default privileges in schema public
    grant all on tables to anon, authenticated, service_role;
  alter default privileges in schema public
    grant all on sequences to anon, authenticated, service_role;
  alter default privileges in schema public
    grant all on functions to anon, authenticated, service_role;

  create schema if not exists auth;
  grant usage on schema auth to anon, authenticated, service_role;

  -- Same columns, types and defaults as supabase/auth's auth.users, so seed data and triggers
  -- written against Supabase insert here unchanged.
  create table if not exists auth.users (
    instance_id uuid,
    id uuid not null,
    aud varchar(255),
    role varchar(255),
    email varchar(255),
    encrypted_password varchar(255),
    email_confirmed_at timestamptz,
    invited_at timestamptz,
    confirmation_token varchar(255),
    confirmation_sent_at timestamptz,
    recovery_token varchar(255),
    recovery_sent_at timestamptz,
    email_change_token_new varchar(255),
    email_change varchar(255),
    email_change_sent_at timestamptz,
    last_sign_in_at timestamptz,
    raw_app_meta_data jsonb,
    raw_user_meta_data jsonb,
    is_super_admin boolean,
    created_at timestamptz,
    updated_at timestamptz,
    phone text default null,
    phone_confirmed_at timestamptz,
    phone_change text default '',
    phone_change_token varchar(255) default '',
    phone_change_sent_at timestamptz,
    confirmed_at timestamptz
      generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
    email_change_token_current varchar(255) default '',
    email_change_confirm_status smallint default 0,
    banned_until timestamptz,
    reauthentication_token varchar(255) default '',
    reauthentication_sent_at timestamptz,
    is_sso_user boolean not null default false,
    deleted_at timestamptz,
    is_anonymous boolean not null default false,
    constraint users_pkey primary key (id),
    constraint users_phone_key unique (phone),
    constraint users_email_change_confirm_status_check
      check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2)
  );
  create index if not exists users_instance_id_idx on auth.users (instance_id);
  create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower(email));
  create unique index if not exists users_email_partial_key on auth.users (email)
    where is_sso_user = false;
  comment on table auth.users is
    'Auth: stores user login data within a secure schema (local stand-in for Supabase Auth).';

  -- Claim helpers exactly as Supabase defines them: PostgREST puts the verified JWT claims in
  -- request.jwt.claims; request.jwt.claim.* is the pre-PostgREST-9 form, still honoured first.
  create or replace function auth.uid()
  returns uuid
  language sql stable
  as $fn$
    select coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
  $fn$;
  comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';

  create or replace function auth.role()
  returns text
  language sql stable
  as $fn$
    select coalesce(
      nullif(current_setting('request.jwt.claim.role', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
  $fn$;
  comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';

  create or replace function auth.email()
  returns text
  language sql stable
  as $fn$
    select coalesce(
      nullif(current_setting('request.jwt.claim.email', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
  $fn$;
  comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

  create or replace function auth.jwt()
  returns jsonb
  language sql stable
  as $fn$
    select coalesce(
      nullif(current_setting('request.jwt.claim', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
  $fn$;
  comment on function auth.jwt() is 'The claims of the JWT of the current request, or null.';

  grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
    to anon, authenticated, service_role;
end
$compat$;

-- Local Supabase Auth (scripts/lib/local_auth/, served by the dev gateway at /auth/v1): the session
-- and refresh-token tables of supabase/auth, and pgcrypto for bcrypt (`crypt()` / `gen_salt('bf')`,
-- the `$2a$10$…` hashes Supabase Auth writes to auth.users.encrypted_password). A separate block
-- so that a database this file prepared before the local Auth existed gains them too; where
-- auth.sessions exists (a Supabase database) it changes nothing.
do $local_auth$
begin
  if to_regclass('auth.sessions') is not null then
    raise notice 'compat: auth.sessions exists, nothing to do';
    return;
  end if;

  create schema if not exists extensions;
  create extension if not exists pgcrypto with schema extensions;

  -- Same names and types as supabase/auth's auth.sessions (the columns the local Auth uses).
  create type auth.aal_level as enum ('aal1', 'aal2', 'aal3');
  create table auth.sessions (
    id uuid not null,
    user_id uuid not null,
    created_at timestamptz,
    updated_at timestamptz,
    factor_id uuid,
    aal auth.aal_level,
    not_after timestamptz,
    refreshed_at timestamp without time zone,
    user_agent text,
    ip inet,
    tag text,
    constraint sessions_pkey primary key (id),
    constraint sessions_user_id_fkey foreign key (user_id)
      references auth.users (id) on delete cascade
  );
  -- Signing out every session of a user, and listing them, look sessions up by user.
  create index sessions_user_id_idx on auth.sessions (user_id);
  comment on table auth.sessions is
    'Auth: stores session data associated to a user (local stand-in for Supabase Auth).';

  -- Same names and types as supabase/auth's auth.refresh_tokens.
  create table auth.refresh_tokens (
    instance_id uuid,
    id bigint generated by default as identity,
    token varchar(255),
    user_id varchar(255),
    revoked boolean,
    created_at timestamptz,
    updated_at timestamptz,
    parent varchar(255),
    session_id uuid,
    constraint refresh_tokens_pkey primary key (id),
    constraint refresh_tokens_token_unique unique (token),
    constraint refresh_tokens_session_id_fkey foreign key (session_id)
      references auth.sessions (id) on delete cascade
  );
  -- The refresh grant finds a session's active token and the child of a reused one.
  create index refresh_tokens_session_id_revoked_idx on auth.refresh_tokens (session_id, revoked);
  create index refresh_tokens_parent_idx on auth.refresh_tokens (parent);
  comment on table auth.refresh_tokens is
    'Auth: store of tokens used to refresh JWT tokens once they expire '
    '(local stand-in for Supabase Auth).';

  -- Only the database owner (the local Auth connects as it) reads or writes sessions and tokens;
  -- the API roles get nothing, and RLS without policies refuses them even if granted later.
  alter table auth.sessions enable row level security;
  alter table auth.refresh_tokens enable row level security;
  revoke all on auth.sessions, auth.refresh_tokens from anon, authenticated, service_role;
end
$local_auth$;
