/**
 * The claims a verified JWT must carry before comptoir believes it, checked the same way by the
 * local gateway (its `verify_jwt`) and by every function (`caller.ts`). A valid signature is not
 * enough: a token without `exp` never dies, a user token without `sub` or for another audience was
 * not issued for this API by Supabase Auth, and a token issued in the future was minted by a clock
 * (or a key holder) nobody should trust. jose checks `exp` and `nbf` when they are present; this
 * makes `exp` mandatory and adds the rest.
 * @module
 */
import type { JWTPayload } from "jose";

/** Seconds a token's `iat` may lie ahead of this server's clock (clock skew between hosts). */
export const JWT_CLOCK_TOLERANCE_SECONDS = 60;

/** The audience Supabase Auth gives user access tokens. */
export const USER_AUDIENCE = "authenticated";

/** Options of {@linkcode tokenClaimsProblem}. */
export interface TokenClaimsOptions {
  /** Now, in epoch seconds. */
  now?: number;
  /** Allowed clock skew for `iat`, in seconds. */
  clockToleranceSeconds?: number;
}

/**
 * Why the claims of a signature-verified token are refused, or `undefined` when they hold: `exp`
 * is required; a user token (`role: authenticated`) needs a `sub` and the `authenticated`
 * audience; `iat` may not be further ahead than the clock tolerance.
 *
 * @example
 * ```ts
 * tokenClaimsProblem({ role: "anon" }); // "JWT has no exp claim"
 * ```
 */
export function tokenClaimsProblem(
  claims: JWTPayload,
  {
    now = Math.floor(Date.now() / 1000),
    clockToleranceSeconds = JWT_CLOCK_TOLERANCE_SECONDS,
  }: TokenClaimsOptions = {},
): string | undefined {
  if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) {
    return "JWT has no exp claim";
  }
  if (claims.iat !== undefined) {
    if (typeof claims.iat !== "number" || !Number.isFinite(claims.iat)) {
      return "JWT iat claim is not a number";
    }
    if (claims.iat > now + clockToleranceSeconds) return "JWT iat claim is in the future";
  }
  if (claims.role === "authenticated") {
    if (typeof claims.sub !== "string" || claims.sub === "") {
      return "JWT of a signed-in user has no sub claim";
    }
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.includes(USER_AUDIENCE)) {
      return `JWT of a signed-in user is not for the ${USER_AUDIENCE} audience (aud)`;
    }
  }
  return undefined;
}
