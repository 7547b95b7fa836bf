/**
 * Who is calling: the verified JWT turned into a role comptoir reasons about — `anon`, `customer`,
 * `admin` (app_metadata.role = "admin", which only the service role can set), or `service_role` — and
 * the database role plus claims that RLS sees for user-scoped queries.
 *
 * Tokens are verified, never just decoded: HS256 with `COMPTOIR_JWT_SECRET` when it is set (local
 * stack, projects on the legacy shared secret), otherwise the project's JWKS at
 * `${SUPABASE_URL}/auth/v1/.well-known/jwks.json` (asymmetric signing keys). A good signature is
 * not enough: the claims must hold too (`exp` always; `sub` and the `authenticated` audience for a
 * signed-in user; no `iat` in the future), the same rules the local gateway applies.
 * @module
 */
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import type { Context, MiddlewareHandler } from "hono";
import { ProblemError, problems } from "../http/problem.ts";
import { tokenClaimsProblem } from "./token_claims.ts";
import { publishAuthEvent } from "./events.ts";
import { VerifiedTokens } from "./verified_tokens.ts";

/** Roles the API distinguishes. */
export type CallerRole = "anon" | "customer" | "admin" | "service_role";

/** The verified caller of a request. */
export interface Caller {
  role: CallerRole;
  /** auth.users id (JWT `sub`) of a signed-in user. */
  userId?: string;
  email?: string;
  /** Postgres role the request's user-scoped queries run as. */
  dbRole: "anon" | "authenticated" | "service_role";
  /** The verified claims, passed to Postgres as `request.jwt.claims`. */
  claims: JWTPayload;
  /**
   * The request's id (`x-request-id`, hono's requestId), passed to Postgres as
   * `comptoir.request_id` with the claims of every call made for the request.
   */
  requestId?: string;
}

type Verifier = (token: string) => Promise<JWTPayload>;

let verifier: Verifier | undefined;

/** Tokens this isolate has verified (one signature check per token, not per request). */
const verified = new VerifiedTokens();

function defaultVerifier(): Verifier {
  const secret = Deno.env.get("COMPTOIR_JWT_SECRET");
  if (secret) {
    const key = new TextEncoder().encode(secret);
    return async (token) => (await jwtVerify(token, key, { algorithms: ["HS256"] })).payload;
  }
  const base = Deno.env.get("SUPABASE_URL");
  if (!base) {
    throw new Error("set COMPTOIR_JWT_SECRET or SUPABASE_URL to verify JWTs");
  }
  const jwks = createRemoteJWKSet(
    new URL("/auth/v1/.well-known/jwks.json", base),
  );
  return async (token) => (await jwtVerify(token, jwks)).payload;
}

/** Maps verified claims to a caller. */
export function callerFromClaims(claims: JWTPayload): Caller {
  const role = claims.role;
  if (role === "service_role") {
    return { role: "service_role", dbRole: "service_role", claims };
  }
  if (role === "authenticated" && typeof claims.sub === "string") {
    const appMetadata = (claims.app_metadata ?? {}) as Record<string, unknown>;
    return {
      role: appMetadata.role === "admin" ? "admin" : "customer",
      userId: claims.sub,
      email: typeof claims.email === "string" ? claims.email : undefined,
      dbRole: "authenticated",
      claims,
    };
  }
  return { role: "anon", dbRole: "anon", claims };
}

/**
 * Verifies the request's bearer token; no token is an anonymous caller, a bad one is a 401.
 *
 * @example
 * ```ts
 * const caller = await callerFromRequest(request);
 * if (caller.role === "admin") { ... }
 * ```
 */
export async function callerFromRequest(request: Request): Promise<Caller> {
  const header = request.headers.get("authorization");
  if (!header) {
    return { role: "anon", dbRole: "anon", claims: { role: "anon" } };
  }
  publishAuthEvent({ kind: "attempt", method: "jwt" });
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) {
    publishAuthEvent({ kind: "failure", method: "jwt", reason: "malformed" });
    throw new ProblemError(
      problems.unauthorized("Authorization must be a Bearer token"),
    );
  }
  verifier ??= defaultVerifier();
  let claims: JWTPayload;
  try {
    claims = verified.get(match[1]) ?? verified.remember(match[1], await verifier(match[1]));
  } catch (err) {
    publishAuthEvent({ kind: "failure", method: "jwt", reason: authFailureReason(err) });
    throw new ProblemError(
      problems.unauthorized("The access token is invalid or expired"),
    );
  }
  if (tokenClaimsProblem(claims) !== undefined) {
    publishAuthEvent({ kind: "failure", method: "jwt", reason: "invalid_claims" });
    throw new ProblemError(
      problems.unauthorized("The access token is invalid or expired"),
    );
  }
  return callerFromClaims(claims);
}

/** The auth failure reason (metrics contract) of a jose verification error. */
function authFailureReason(err: unknown): string {
  switch ((err as { code?: string })?.code) {
    case "ERR_JWT_EXPIRED":
      return "expired";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "invalid_signature";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return "invalid_claims";
    case "ERR_JWKS_NO_MATCHING_KEY":
      return "unknown_key";
    default:
      return "malformed";
  }
}

const CALLER_KEY = "caller";

/** Middleware: verifies the caller once per request and stores it for {@linkcode callerOf}. */
export function authenticate(): MiddlewareHandler {
  return async function authenticateCaller(c, next) {
    const caller = await callerFromRequest(c.req.raw);
    const requestId = c.get("requestId" as never) as string | undefined;
    c.set(CALLER_KEY as never, (requestId ? { ...caller, requestId } : caller) as never);
    await next();
  };
}

/** The caller stored by {@linkcode authenticate}. */
export function callerOf(c: Context): Caller {
  const caller = c.get(CALLER_KEY as never) as Caller | undefined;
  if (!caller) throw new Error("authenticate() must run before callerOf()");
  return caller;
}

/**
 * Middleware: only `roles` may continue; anonymous callers get 401, others 403.
 *
 * @example
 * ```ts
 * app.get("/v1/dashboard", requireRole("admin", "service_role"), handler);
 * ```
 */
export function requireRole(...roles: CallerRole[]): MiddlewareHandler {
  return requireRoleWith(roles);
}

/** Options of {@linkcode requireRoleWith}. */
export interface RequireRoleOptions {
  /** Told of every refusal before it is answered (the audit trail); must not throw. */
  onRefused?: (c: Context, caller: Caller, roles: readonly CallerRole[]) => void;
}

/**
 * {@linkcode requireRole} with options: `onRefused` hears of each refused caller.
 *
 * @example
 * ```ts
 * app.get("/v1/dashboard", requireRoleWith(["admin"], { onRefused: audit }), handler);
 * ```
 */
export function requireRoleWith(
  roles: readonly CallerRole[],
  { onRefused }: RequireRoleOptions = {},
): MiddlewareHandler {
  return async function checkRole(c, next) {
    const caller = callerOf(c);
    if (!roles.includes(caller.role)) {
      onRefused?.(c, caller, roles);
      publishAuthEvent({
        kind: "failure",
        method: "jwt",
        reason: caller.role === "anon" ? "missing_credentials" : "insufficient_role",
      });
      if (caller.role === "anon") {
        throw new ProblemError(
          problems.unauthorized("Sign in to use this endpoint"),
        );
      }
      throw new ProblemError(
        problems.forbidden(
          `This endpoint needs the ${roles.join(" or ")} role`,
        ),
      );
    }
    await next();
  };
}

/** Replaces the token verifier (tests). */
export function setVerifierForTesting(fn: Verifier | undefined): void {
  verifier = fn;
  verified.clear();
}
