/**
 * Local Supabase Auth for the dev gateway, at `/auth/v1`: what supabase-js's `auth.*` calls for
 * email and password — `POST /signup`, `POST /token?grant_type=password|refresh_token`,
 * `GET|PUT /user`, `POST /logout?scope=global|local|others`, `GET /settings`, `GET /health` — and
 * the service role's `/admin/users` routes, with Supabase Auth's bodies, status codes and error
 * codes (supabase/auth `internal/api`). Access tokens carry the claims Supabase Auth puts in them
 * (sub, role, aud, email, phone, app_metadata, user_metadata, session_id, aal, amr, is_anonymous),
 * signed with the local JWT secret, so RLS and the api see what they will see on hosted Supabase.
 * Requests need an `apikey` (the anon or service_role key) as Supabase's gateway demands.
 *
 * Hand-written because Supabase Auth (GoTrue) ships neither as a Debian nor as an npm package and
 * its Docker image cannot run here; it exists only in the local stack and is never deployed.
 * Emails are confirmed at sign-up (there is no mailer locally), like `enable_confirmations = false`.
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { jwtVerify, SignJWT } from "jose";
import type postgres from "postgres";
import { problemResponse } from "../../../supabase/functions/_shared/http/problem.ts";
import { classify } from "../../../supabase/functions/_shared/resilience/classify.ts";
import { RateLimiter } from "../../../supabase/functions/_shared/rate_limit/limiter.ts";
import { defineRateLimitPolicies } from "../../../supabase/functions/_shared/rate_limit/policies.ts";
import type { RateLimitBackend } from "../../../supabase/functions/_shared/rate_limit/types.ts";
import {
  API_VERSION_HEADER,
  AuthApiProblem,
  authErrorResponse,
  authProblems,
} from "./auth_error.ts";
import {
  deleteUser,
  endSessions,
  insertUser,
  isCurrentPassword,
  listUsers,
  openSession,
  refreshSession,
  sessionById,
  type SessionRow,
  updateUser,
  userByEmailWithPassword,
  userById,
  type UserChanges,
  type UserRow,
} from "./auth_store.ts";
import type { LocalAuthSettings } from "./settings.ts";

/** Where the gateway mounts the local Auth. */
export const AUTH_PREFIX = "/auth/v1";

/** Options of {@linkcode createLocalAuth}. */
export interface LocalAuthOptions {
  /** The database (the functions' own client). */
  sql: () => postgres.Sql;
  /** HS256 secret signing access tokens (the local JWT secret). */
  jwtSecret: string;
  /** The two keys the gateway accepts as `apikey`. */
  apiKeys: { anon: string; serviceRole: string };
  settings: LocalAuthSettings;
  /** Counts sign-ins and refreshes per client address; none: no limit. */
  rateLimitBackend?: RateLimitBackend | null;
}

/** A request handler as the gateway calls it. */
export type AuthHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Promise<Response>;

/** Largest request body the local Auth reads. */
const MAX_BODY_BYTES = 64 * 1024;
/** Longest password bcrypt uses; Supabase Auth refuses longer ones. */
const MAX_PASSWORD_LENGTH = 72;
/** checkmail.ValidateFormat's pattern, which Supabase Auth validates addresses with. */
const EMAIL_PATTERN =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Refresh tokens of Supabase Auth's first format: 12 lowercase letters and digits. */
const REFRESH_TOKEN_PATTERN = /^[a-z0-9]{12}$/;
const ADMIN_ROLES = new Set(["service_role", "supabase_admin"]);
const FIVE_MINUTES_MS = 5 * 60_000;

/**
 * Builds the local Auth's handler.
 *
 * @example
 * ```ts
 * const auth = createLocalAuth({ sql: getDb, jwtSecret, apiKeys, settings });
 * const gateway = await startGateway({ jwtSecret, routes: [{ prefix: AUTH_PREFIX, fetch: auth }] });
 * ```
 */
export function createLocalAuth(options: LocalAuthOptions): AuthHandler {
  const { sql, jwtSecret, apiKeys, settings, rateLimitBackend = null } = options;
  const secret = new TextEncoder().encode(jwtSecret);
  const policies = defineRateLimitPolicies({
    auth_sign_in: {
      algorithm: "sliding_window",
      limit: settings.signInSignUpsPer5Min,
      windowMs: FIVE_MINUTES_MS,
      identity: "ip",
      failMode: "closed",
      adaptive: false,
    },
    auth_token_refresh: {
      algorithm: "sliding_window",
      limit: settings.tokenRefreshPer5Min,
      windowMs: FIVE_MINUTES_MS,
      identity: "ip",
      failMode: "open",
      adaptive: false,
    },
  });
  const limiter = rateLimitBackend ? new RateLimiter({ backend: rateLimitBackend }) : null;

  type Env = { Bindings: { info: Deno.ServeHandlerInfo<Deno.NetAddr> } };
  const app = new Hono<Env>().basePath(AUTH_PREFIX);
  app.use(
    "*",
    cors({
      origin: "*",
      allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
      exposeHeaders: ["x-total-count", "link", API_VERSION_HEADER, "retry-after"],
      maxAge: 3600,
    }),
  );
  app.use("*", async function requireApiKey(c, next) {
    const key = c.req.header("apikey") ?? new URL(c.req.url).searchParams.get("apikey");
    if (!key) {
      return kongRefusal(
        "No API key found in request",
        "No `apikey` request header or url param was found.",
      );
    }
    if (key !== apiKeys.anon && key !== apiKeys.serviceRole) return kongRefusal("Invalid API key");
    await next();
  });
  app.onError((err, c) => {
    if (err instanceof AuthApiProblem) return authErrorResponse(err, c.req.raw);
    const retryable = classify(err).retryable;
    console.error(JSON.stringify({
      level: "error",
      msg: "local auth failed",
      path: new URL(c.req.url).pathname,
      error: err instanceof Error ? err.message : String(err),
    }));
    return authErrorResponse(
      retryable ? authProblems.unavailable() : authProblems.unexpected(),
      c.req.raw,
    );
  });
  app.notFound((c) =>
    authErrorResponse(authProblems.notFound(new URL(c.req.url).pathname), c.req.raw)
  );

  async function limit(policy: keyof typeof policies, info: Deno.ServeHandlerInfo<Deno.NetAddr>) {
    if (!limiter) return;
    const decision = await limiter.check(policies[policy], info.remoteAddr.hostname);
    if (decision.allowed) return;
    const retryAfter = Math.max(1, Math.ceil((decision.retryAfterMs ?? 1000) / 1000));
    // The counters' store did not answer: the sign-in limit fails closed, as a 503, not a 429.
    if (decision.outcome === "fail_closed") throw authProblems.unavailable(retryAfter);
    throw authProblems.rateLimited(retryAfter);
  }

  /** The token response of Supabase Auth; `iss` is this server's Auth URL, as on hosted Supabase. */
  async function issueTokens(
    request: Request,
    session: SessionRow,
    user: UserRow,
    refreshToken: string,
  ) {
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + settings.jwtExpirySeconds;
    const claims = {
      aud: user.aud,
      exp: expiresAt,
      iat: issuedAt,
      sub: user.id,
      email: user.email ?? "",
      phone: user.phone ?? "",
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      role: user.role,
      aal: "aal1",
      amr: [{ method: "password", timestamp: Math.floor(session.created_at.getTime() / 1000) }],
      session_id: session.id,
      is_anonymous: user.is_anonymous,
    };
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(new URL(request.url).origin + AUTH_PREFIX)
      .sign(secret);
    return {
      access_token: accessToken,
      token_type: "bearer",
      expires_in: settings.jwtExpirySeconds,
      expires_at: expiresAt,
      refresh_token: refreshToken,
      user: userJson(user),
    };
  }

  /** The signed-in caller: claims verified, user and session still there (requireAuthentication). */
  async function authenticated(request: Request) {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "");
    if (!match) throw authProblems.noAuthorization();
    const claims = await verifyToken(match[1]);
    const sub = claims.sub;
    if (typeof sub !== "string" || sub === "") {
      throw authProblems.badJwt("invalid claim: missing sub claim");
    }
    if (!UUID_PATTERN.test(sub)) {
      throw authProblems.badJwt("invalid claim: sub claim must be a UUID", 400);
    }
    const db = sql();
    const user = await userById(db, sub);
    if (!user) throw authProblems.userNotFound("User from sub claim in JWT does not exist", 403);
    const sessionId = claims.session_id;
    let session: SessionRow | undefined;
    if (typeof sessionId === "string" && sessionId !== "") {
      if (!UUID_PATTERN.test(sessionId)) {
        throw authProblems.badJwt("invalid claim: session_id claim must be a UUID");
      }
      session = await sessionById(db, sessionId);
      if (!session) throw authProblems.sessionNotFound();
    }
    return { claims, user, session };
  }

  async function verifyToken(token: string): Promise<Record<string, unknown>> {
    try {
      const { payload } = await jwtVerify(token, secret, { algorithms: ["HS256"] });
      return payload as Record<string, unknown>;
    } catch (err) {
      throw authProblems.badJwt(
        `invalid JWT: unable to parse or verify signature, ${jwtFailure(err)}`,
      );
    }
  }

  async function requireAdmin(request: Request): Promise<void> {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "");
    if (!match) throw authProblems.noAuthorization();
    const claims = await verifyToken(match[1]);
    if (typeof claims.role !== "string" || !ADMIN_ROLES.has(claims.role)) {
      throw authProblems.notAdmin();
    }
  }

  app.get("/health", (c) =>
    c.json({
      version: "comptoir-local",
      name: "GoTrue",
      description: "Local stand-in for Supabase Auth (comptoir dev stack)",
    }));

  app.get("/settings", (c) =>
    c.json({
      external: {
        anonymous_users: false,
        apple: false,
        azure: false,
        bitbucket: false,
        discord: false,
        facebook: false,
        figma: false,
        fly: false,
        github: false,
        gitlab: false,
        google: false,
        keycloak: false,
        kakao: false,
        linkedin: false,
        linkedin_oidc: false,
        notion: false,
        spotify: false,
        slack: false,
        slack_oidc: false,
        workos: false,
        twitch: false,
        twitter: false,
        email: true,
        phone: false,
        zoom: false,
      },
      disable_signup: !settings.signupEnabled,
      mailer_autoconfirm: true,
      phone_autoconfirm: false,
      sms_provider: "",
      saml_enabled: false,
      passkeys_enabled: false,
    }));

  app.post("/signup", async (c) => {
    await limit("auth_sign_in", c.env.info);
    if (!settings.signupEnabled) throw authProblems.signupDisabled();
    const body = await readBody(c.req.raw);
    const password = optionalString(body, "password");
    if (!password) throw authProblems.validation("Signup requires a valid password");
    if (body.phone !== undefined && body.phone !== "") {
      throw authProblems.validation("Sign up only available with email provider");
    }
    const email = validEmail(optionalString(body, "email"));
    checkPasswordStrength(password, settings);
    const data = optionalObject(body, "data");
    const client = clientOf(c.req.raw, c.env.info);
    const refreshToken = newRefreshToken();
    const created = await sql().begin(async (tx) => {
      const user = await insertUser(tx, {
        email,
        password,
        emailConfirmed: true,
        userMetadata: data ?? {},
      });
      if (!user) return undefined;
      return await openSession(tx, user.id, refreshToken, client);
    });
    if (!created) throw authProblems.userAlreadyExists();
    return c.json(await issueTokens(c.req.raw, created.session, created.user, refreshToken));
  });

  app.post("/token", async (c) => {
    const grant = c.req.query("grant_type");
    if (grant === "password") {
      await limit("auth_sign_in", c.env.info);
      const body = await readBody(c.req.raw);
      const email = optionalString(body, "email");
      const phone = optionalString(body, "phone");
      const password = optionalString(body, "password") ?? "";
      if (email && phone) {
        throw authProblems.validation(
          "Only an email address or phone number should be provided on login.",
        );
      }
      if (!email) {
        if (phone) {
          throw new AuthApiProblem(422, "phone_provider_disabled", "Phone logins are disabled");
        }
        throw authProblems.validation("missing email or phone");
      }
      const found = await userByEmailWithPassword(sql(), email, password);
      if (!found) throw authProblems.invalidCredentials();
      if (found.user.banned_until && found.user.banned_until.getTime() > Date.now()) {
        throw authProblems.userBanned();
      }
      if (!found.passwordOk) throw authProblems.invalidCredentials();
      if (!found.user.email_confirmed_at) throw authProblems.emailNotConfirmed();
      const refreshToken = newRefreshToken();
      const client = clientOf(c.req.raw, c.env.info);
      const opened = await sql().begin((tx) =>
        openSession(tx, found.user.id, refreshToken, client)
      );
      return c.json(await issueTokens(c.req.raw, opened.session, opened.user, refreshToken));
    }
    if (grant === "refresh_token") {
      await limit("auth_token_refresh", c.env.info);
      const body = await readBody(c.req.raw);
      const token = optionalString(body, "refresh_token") ?? "";
      if (!REFRESH_TOKEN_PATTERN.test(token)) {
        throw authProblems.validation("Refresh token is not valid");
      }
      const outcome = await refreshSession(sql(), token, newRefreshToken(), {
        reuseIntervalSeconds: settings.refreshTokenReuseIntervalSeconds,
        rotation: settings.refreshTokenRotation,
      });
      if (outcome.kind === "not_found") throw authProblems.refreshTokenNotFound();
      if (outcome.kind === "already_used") throw authProblems.refreshTokenAlreadyUsed();
      if (outcome.user.banned_until && outcome.user.banned_until.getTime() > Date.now()) {
        throw new AuthApiProblem(400, "user_banned", "Invalid Refresh Token: User Banned");
      }
      return c.json(
        await issueTokens(c.req.raw, outcome.session, outcome.user, outcome.refreshToken),
      );
    }
    throw new AuthApiProblem(400, "invalid_credentials", "unsupported_grant_type");
  });

  app.get("/user", async (c) => {
    const { user } = await authenticated(c.req.raw);
    return c.json(userJson(user));
  });

  app.put("/user", async (c) => {
    const { user } = await authenticated(c.req.raw);
    const body = await readBody(c.req.raw);
    const changes: UserChanges = {};
    const password = optionalString(body, "password");
    if (password !== undefined) {
      checkPasswordStrength(password, settings);
      if (await isCurrentPassword(sql(), user.id, password)) throw authProblems.samePassword();
      changes.password = password;
    }
    const email = optionalString(body, "email");
    if (email !== undefined && email.toLowerCase() !== (user.email ?? "").toLowerCase()) {
      changes.email = validEmail(email);
    }
    const data = optionalObject(body, "data");
    if (data) changes.userMetadata = data;
    const updated = await updateUser(sql(), user.id, changes);
    if (updated === "email_exists") throw authProblems.emailExists();
    if (!updated) throw authProblems.userNotFound("User from sub claim in JWT does not exist", 403);
    return c.json(userJson(updated));
  });

  app.post("/logout", async (c) => {
    const scope = c.req.query("scope") ?? "global";
    if (scope !== "global" && scope !== "local" && scope !== "others") {
      throw authProblems.validation(`Unsupported logout scope ${JSON.stringify(scope)}`);
    }
    const { user, session } = await authenticated(c.req.raw);
    await endSessions(sql(), user.id, session?.id, scope);
    return c.body(null, 204);
  });

  app.get("/admin/users", async (c) => {
    await requireAdmin(c.req.raw);
    const page = pageParam(c.req.query("page"), 1);
    const perPage = Math.min(pageParam(c.req.query("per_page"), 50), 1000);
    const { users, total } = await listUsers(sql(), page, perPage);
    const last = Math.max(1, Math.ceil(total / perPage));
    const links = [];
    if (page < last) {
      links.push(`<${AUTH_PREFIX}/admin/users?page=${page + 1}&per_page=${perPage}>; rel="next"`);
    }
    links.push(`<${AUTH_PREFIX}/admin/users?page=${last}&per_page=${perPage}>; rel="last"`);
    c.header("x-total-count", String(total));
    c.header("link", links.join(", "));
    return c.json({ aud: "authenticated", users: users.map(userJson) });
  });

  app.post("/admin/users", async (c) => {
    await requireAdmin(c.req.raw);
    const body = await readBody(c.req.raw);
    const email = validEmail(optionalString(body, "email"));
    const password = optionalString(body, "password");
    if (password !== undefined) checkPasswordStrength(password, settings);
    const role = optionalString(body, "role");
    const created = await insertUser(sql(), {
      email,
      password,
      emailConfirmed: body.email_confirm === true,
      appMetadata: optionalObject(body, "app_metadata"),
      userMetadata: optionalObject(body, "user_metadata"),
      role,
    });
    if (!created) throw authProblems.emailExists();
    return c.json(userJson(created));
  });

  app.get("/admin/users/:id", async (c) => {
    await requireAdmin(c.req.raw);
    const user = await userById(sql(), userIdParam(c.req.param("id")));
    if (!user) throw authProblems.userNotFound();
    return c.json(userJson(user));
  });

  app.put("/admin/users/:id", async (c) => {
    await requireAdmin(c.req.raw);
    const id = userIdParam(c.req.param("id"));
    const body = await readBody(c.req.raw);
    const changes: UserChanges = {};
    const email = optionalString(body, "email");
    if (email !== undefined) changes.email = validEmail(email);
    const password = optionalString(body, "password");
    if (password !== undefined) {
      checkPasswordStrength(password, settings);
      changes.password = password;
    }
    if (typeof body.email_confirm === "boolean") changes.emailConfirmed = body.email_confirm;
    const app = optionalObject(body, "app_metadata");
    if (app) changes.appMetadata = app;
    const data = optionalObject(body, "user_metadata");
    if (data) changes.userMetadata = data;
    const role = optionalString(body, "role");
    if (role !== undefined) changes.role = role;
    const ban = optionalString(body, "ban_duration");
    if (ban !== undefined) changes.bannedUntil = banUntil(ban);
    const updated = await updateUser(sql(), id, changes);
    if (updated === "email_exists") throw authProblems.emailExists();
    if (!updated) throw authProblems.userNotFound();
    return c.json(userJson(updated));
  });

  app.delete("/admin/users/:id", async (c) => {
    await requireAdmin(c.req.raw);
    if (!await deleteUser(sql(), userIdParam(c.req.param("id")))) {
      throw authProblems.userNotFound();
    }
    return c.json({});
  });

  return (request, info) => Promise.resolve(app.fetch(request, { info }));
}

/**
 * The answer of Supabase's API gateway (Kong) to a missing or unknown `apikey`: 401 with
 * `message` (and `hint`) and no error code, before Auth sees the request.
 */
function kongRefusal(message: string, hint?: string): Response {
  return problemResponse({
    type: "unauthorized",
    status: 401,
    title: "Unauthorized",
    detail: message,
    message,
    ...(hint ? { hint } : {}),
  });
}

/** A user as Supabase Auth serialises it, with the email identity it keeps in auth.identities. */
export function userJson(user: UserRow): Record<string, unknown> {
  const email = user.email ?? "";
  return {
    id: user.id,
    aud: user.aud,
    role: user.role,
    email,
    email_confirmed_at: user.email_confirmed_at ?? undefined,
    phone: user.phone ?? "",
    confirmed_at: user.confirmed_at ?? undefined,
    last_sign_in_at: user.last_sign_in_at ?? undefined,
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    identities: [{
      identity_id: user.id,
      id: user.id,
      user_id: user.id,
      identity_data: {
        email,
        email_verified: user.email_confirmed_at !== null,
        phone_verified: false,
        sub: user.id,
      },
      provider: "email",
      last_sign_in_at: user.last_sign_in_at ?? undefined,
      created_at: user.created_at,
      updated_at: user.updated_at,
      email,
    }],
    created_at: user.created_at,
    updated_at: user.updated_at,
    banned_until: user.banned_until ?? undefined,
    is_anonymous: user.is_anonymous,
  };
}

async function readBody(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (new TextEncoder().encode(text).length > MAX_BODY_BYTES) {
    throw authProblems.tooLarge(MAX_BODY_BYTES);
  }
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw authProblems.badJson(err instanceof Error ? err.message : "invalid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw authProblems.badJson("the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw authProblems.badJson(`${field} must be a string`);
  }
  return value;
}

function optionalObject(
  body: Record<string, unknown>,
  field: string,
): Record<string, unknown> | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw authProblems.badJson(`${field} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** The address lower-cased, or Supabase Auth's refusal (validateEmail). */
function validEmail(email: string | undefined): string {
  if (!email) throw authProblems.validation("An email address is required");
  if (email.length > 255) throw authProblems.validation("An email address is too long");
  if (!EMAIL_PATTERN.test(email)) {
    throw authProblems.validation("Unable to validate email address: invalid format");
  }
  return email.toLowerCase();
}

function userIdParam(id: string): string {
  if (!UUID_PATTERN.test(id)) throw authProblems.userNotFound();
  return id.toLowerCase();
}

function pageParam(value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw authProblems.validation("Bad Pagination Parameters");
  return n;
}

/** `ban_duration`: `none` lifts the ban, otherwise a Go duration such as `24h` or `90m`. */
function banUntil(duration: string): Date | null {
  if (duration === "none") return null;
  const match = /^(\d+(?:\.\d+)?)(h|m|s|ms)$/.exec(duration);
  if (!match) throw authProblems.validation("invalid format for ban duration");
  const unit = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 }[match[2] as "h" | "m" | "s" | "ms"];
  return new Date(Date.now() + Number(match[1]) * unit);
}

function clientOf(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) {
  return { userAgent: request.headers.get("user-agent"), ip: info.remoteAddr.hostname ?? null };
}

/** A refresh token in Supabase Auth's first format: 12 random lowercase letters and digits. */
function newRefreshToken(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let token = "";
  while (token.length < 12) {
    for (const byte of crypto.getRandomValues(new Uint8Array(16))) {
      // 252 = 7 × 36: rejecting the rest keeps every character equally likely.
      if (byte < 252 && token.length < 12) token += alphabet[byte % 36];
    }
  }
  return token;
}

/** golang-jwt's wording for why a token failed, which Supabase Auth puts in its message. */
function jwtFailure(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === "ERR_JWT_EXPIRED") return "token has invalid claims: token is expired";
  if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") {
    return "token signature is invalid: signature is invalid";
  }
  if (code === "ERR_JOSE_ALG_NOT_ALLOWED") {
    return "token is unverifiable: error while executing keyfunc: unexpected signing method";
  }
  if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") return "token has invalid claims";
  return "token is malformed: could not base64 decode or parse the token";
}

/** Supabase Auth's password check: at most 72 characters, then length and character sets. */
function checkPasswordStrength(
  password: string,
  { minimumPasswordLength, requiredCharacters }: LocalAuthSettings,
): void {
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw authProblems.validation(
      `Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  const reasons: string[] = [];
  const messages: string[] = [];
  if ([...password].length < minimumPasswordLength) {
    reasons.push("length");
    messages.push(`Password should be at least ${minimumPasswordLength} characters.`);
  }
  if (requiredCharacters.some((set) => ![...set].some((ch) => password.includes(ch)))) {
    reasons.push("characters");
    messages.push(
      `Password should contain at least one character of each: ${requiredCharacters.join(", ")}.`,
    );
  }
  if (reasons.length > 0) throw authProblems.weakPassword(messages.join(" "), reasons);
}
