/**
 * Checks the bearer token of a scrape against the `COMPTOIR_METRICS_TOKEN` secret, in constant
 * time (both sides are hashed first, so neither the content nor the length leaks through timing).
 * @module
 */

/** Why a scrape is refused, in the contract's `reason` vocabulary of authentication failures. */
export interface TokenRefusal {
  reason: "missing_credentials" | "malformed" | "unknown_key";
  /** Detail for the 401 problem. */
  detail: string;
}

/**
 * Returns why `authorization` does not carry `expected`, or `undefined` when it does. An unset or
 * empty secret refuses every request.
 *
 * @example
 * ```ts
 * await checkMetricsToken("Bearer s3cret", "s3cret"); // undefined
 * (await checkMetricsToken(undefined, "s3cret"))?.reason; // "missing_credentials"
 * ```
 */
export async function checkMetricsToken(
  authorization: string | undefined | null,
  expected: string | undefined,
): Promise<TokenRefusal | undefined> {
  if (!authorization) {
    return { reason: "missing_credentials", detail: "Send Authorization: Bearer <metrics token>" };
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) {
    return { reason: "malformed", detail: "Authorization must be a Bearer token" };
  }
  if (!expected) {
    warnUnset();
    return { reason: "unknown_key", detail: "The metrics token is not valid" };
  }
  const [given, wanted] = await Promise.all([digest(match[1]), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < given.length; i++) diff |= given[i] ^ wanted[i];
  return diff === 0
    ? undefined
    : { reason: "unknown_key", detail: "The metrics token is not valid" };
}

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

let warned = false;

function warnUnset(): void {
  if (warned) return;
  warned = true;
  console.warn(JSON.stringify({
    level: "warn",
    msg: "COMPTOIR_METRICS_TOKEN is not set: every scrape is refused",
  }));
}
