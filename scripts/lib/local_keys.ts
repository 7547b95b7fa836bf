/**
 * Local JWT secret and API keys, as the Supabase CLI has them: the anon and service_role keys are
 * HS256 JWTs signed with the local secret, so supabase-js and the gateway agree on them.
 * @module
 */
import { SignJWT } from "jose";

/** The Supabase CLI's default local JWT secret (never a production secret). */
export const DEFAULT_LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

/**
 * The metrics token of the local stack when `COMPTOIR_METRICS_TOKEN` is not set, shared by
 * `deno task dev` and `deno task monitoring:up` so the local Prometheus scrapes without set-up.
 * Never a production token: hosted deployments set their own secret.
 */
export const DEFAULT_LOCAL_METRICS_TOKEN = "comptoir-local-metrics-token";

/** The local metrics token: `COMPTOIR_METRICS_TOKEN` or the local default. */
export function localMetricsToken(): string {
  return Deno.env.get("COMPTOIR_METRICS_TOKEN") || DEFAULT_LOCAL_METRICS_TOKEN;
}

/**
 * The bearer token of Alertmanager's webhook to the `alerts` function on the local stack when
 * `COMPTOIR_ALERTMANAGER_TOKEN` is not set, shared by `deno task dev` (the function checks it) and
 * `deno task monitoring:up` (Alertmanager sends it), like the metrics token. Never a production
 * token.
 */
export const DEFAULT_LOCAL_ALERTMANAGER_TOKEN = "comptoir-local-alertmanager-token";

/** The local Alertmanager webhook token: `COMPTOIR_ALERTMANAGER_TOKEN` or the local default. */
export function localAlertmanagerToken(): string {
  return Deno.env.get("COMPTOIR_ALERTMANAGER_TOKEN") || DEFAULT_LOCAL_ALERTMANAGER_TOKEN;
}

/** The local JWT secret: `COMPTOIR_JWT_SECRET` or the CLI default. */
export function localJwtSecret(): string {
  return Deno.env.get("COMPTOIR_JWT_SECRET") ?? DEFAULT_LOCAL_JWT_SECRET;
}

/** Signs a JWT with HS256 and the given secret. */
export async function signJwt(
  claims: Record<string, unknown>,
  secret: string,
  { expiresInSeconds = 3600, issuedAt = Math.floor(Date.now() / 1000) }: {
    expiresInSeconds?: number;
    issuedAt?: number;
  } = {},
): Promise<string> {
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + expiresInSeconds)
    .sign(new TextEncoder().encode(secret));
}

/**
 * The anon and service_role keys for `secret`: issued at a fixed date and valid for ten years like
 * the CLI's, so they stay the same across restarts and can live in a front-end's .env.
 */
export async function localApiKeys(secret: string): Promise<{ anon: string; serviceRole: string }> {
  const options = { issuedAt: 1767225600, expiresInSeconds: 10 * 365 * 24 * 3600 };
  return {
    anon: await signJwt({ iss: "supabase-demo", role: "anon" }, secret, options),
    serviceRole: await signJwt({ iss: "supabase-demo", role: "service_role" }, secret, options),
  };
}

/** A signed-in user's access token, shaped like Supabase Auth's. */
export function userToken(
  secret: string,
  user: { id: string; email?: string; appRole?: string },
  { expiresInSeconds = 3600 }: { expiresInSeconds?: number } = {},
): Promise<string> {
  return signJwt(
    {
      iss: "supabase-demo",
      sub: user.id,
      aud: "authenticated",
      role: "authenticated",
      email: user.email,
      app_metadata: { provider: "email", ...(user.appRole ? { role: user.appRole } : {}) },
      user_metadata: {},
    },
    secret,
    { expiresInSeconds },
  );
}
