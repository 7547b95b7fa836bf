/**
 * Checks a static bearer token (not a JWT) against the secret that holds it, in constant time
 * (both sides are hashed first, so neither the content nor the length leaks through timing): the
 * metrics function's scrapes (`COMPTOIR_METRICS_TOKEN`) and Alertmanager's webhook calls to the
 * alerts function (`COMPTOIR_ALERTMANAGER_TOKEN`), callers that carry no Supabase JWT.
 * @module
 */

/** Why a call is refused, in the contract's `reason` vocabulary of authentication failures. */
export interface TokenRefusal {
  reason: "missing_credentials" | "malformed" | "unknown_key";
  /** Detail for the 401 problem. */
  detail: string;
}

/**
 * Returns why `authorization` does not carry `expected`, or `undefined` when it does. An unset or
 * empty secret refuses every request (and is warned about once, naming `secretName`).
 *
 * @example
 * ```ts
 * await checkBearerToken("Bearer s3cret", "s3cret", { token: "metrics token", secretName: "COMPTOIR_METRICS_TOKEN" }); // undefined
 * ```
 */
export async function checkBearerToken(
  authorization: string | undefined | null,
  expected: string | undefined,
  { token, secretName }: { token: string; secretName: string },
): Promise<TokenRefusal | undefined> {
  if (!authorization) {
    return { reason: "missing_credentials", detail: `Send Authorization: Bearer <${token}>` };
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) {
    return { reason: "malformed", detail: "Authorization must be a Bearer token" };
  }
  const invalid = `The ${token} is not valid`;
  if (!expected) {
    warnUnset(secretName);
    return { reason: "unknown_key", detail: invalid };
  }
  const [given, wanted] = await Promise.all([digest(match[1]), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < given.length; i++) diff |= given[i] ^ wanted[i];
  return diff === 0 ? undefined : { reason: "unknown_key", detail: invalid };
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

const warned = new Set<string>();

function warnUnset(secretName: string): void {
  if (warned.has(secretName)) return;
  warned.add(secretName);
  console.warn(JSON.stringify({
    level: "warn",
    msg: `${secretName} is not set: every call that needs it is refused`,
  }));
}
