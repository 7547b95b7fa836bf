-- private.invoke_function() as 20261204110200 created it, with the Vault view and pg_net's function
-- looked up at run time: `supabase db lint` (plpgsql_check) checks dynamic SQL whose text it can
-- work out against the local database, where neither exists, and failed on it.

create or replace function private.invoke_function(p_function text, p_path text)
returns bigint
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  -- Looked up, not written: a name known only at run time is not checked against a database
  -- that lacks it.
  v_secrets regclass := pg_catalog.to_regclass('vault.decrypted_secrets');
  v_post regprocedure := pg_catalog.to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)');
  v_url text;
  v_key text;
  v_request bigint;
begin
  if p_function !~ '^[a-z][a-z0-9_-]{0,62}$' or p_path !~ '^/[A-Za-z0-9/_-]{0,200}$' then
    raise exception 'malformed function % or path %', p_function, p_path
      using errcode = 'invalid_parameter_value';
  end if;
  if v_secrets is null or v_post is null then
    return null;
  end if;
  execute 'select max(s.decrypted_secret) filter (where s.name = $1), '
    || 'max(s.decrypted_secret) filter (where s.name = $2) from '
    || v_secrets::text || ' s where s.name in ($1, $2)'
    into v_url, v_key
    using 'comptoir_project_url', 'comptoir_service_role_key';
  if v_url is null or v_key is null then
    raise warning 'invoke_function: set the Vault secrets comptoir_project_url and comptoir_service_role_key';
    return null;
  end if;
  execute 'select ' || v_post::regproc::text || '($1, $2, $3, $4, $5)'
    into v_request
    using rtrim(v_url, '/') || '/functions/v1/' || p_function || p_path, '{}'::jsonb, '{}'::jsonb,
      pg_catalog.jsonb_build_object('content-type', 'application/json',
                                    'authorization', 'Bearer ' || v_key),
      10000;
  return v_request;
end
$$;
comment on function private.invoke_function(text, text) is
  'POSTs to <project>/functions/v1/<p_function><p_path> with pg_net and the service key (Vault '
  'secrets comptoir_project_url, comptoir_service_role_key); returns the pg_net request id, or null '
  'where pg_net or Vault is absent (the dev stack then invokes scheduled functions itself).';
