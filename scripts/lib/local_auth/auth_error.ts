/**
 * Errors of the local Auth, answered the way Supabase Auth answers them so supabase-js's
 * `AuthApiError` carries the same `status` and `code`: a client that sends
 * `X-Supabase-Api-Version: 2024-01-01` (auth-js always does) gets `{ code: "<error code>",
 * message }` and the header echoed back; one that does not gets the initial shape
 * `{ code: <status>, error_code, msg }` (supabase/auth `internal/api/errors.go`). The body is also
 * an RFC 9457 problem (`type`, `title`, `status`, `detail`, `application/problem+json`) like every
 * other comptoir error; auth-js reads the body whatever its media type.
 * @module
 */
import { problemResponse } from "../../../supabase/functions/_shared/http/problem.ts";

/** The API version header of Supabase Auth and the one version after the initial one. */
export const API_VERSION_HEADER = "x-supabase-api-version";
const API_VERSION_2024 = "2024-01-01";

/** Status titles of the statuses the local Auth answers. */
const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Payload Too Large",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/**
 * A refusal with Supabase Auth's status, error code and message.
 *
 * @example
 * ```ts
 * throw new AuthApiProblem(400, "invalid_credentials", "Invalid login credentials");
 * ```
 */
export class AuthApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra members, e.g. `weak_password: { reasons }`. */
    readonly extra: Record<string, unknown> = {},
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "AuthApiProblem";
  }
}

/** Whether the request asked for the 2024-01-01 API (any valid date from then on). */
export function wantsApiVersion2024(request: Request): boolean {
  const value = request.headers.get(API_VERSION_HEADER);
  return value !== null && /^\d{4}-\d{2}-\d{2}$/.test(value) && value >= API_VERSION_2024;
}

/**
 * The response for `problem`, shaped for the API version the request asked for.
 *
 * @example
 * ```ts
 * authErrorResponse(new AuthApiProblem(422, "user_already_exists", "User already registered"), req);
 * ```
 */
export function authErrorResponse(problem: AuthApiProblem, request: Request): Response {
  const v2024 = wantsApiVersion2024(request);
  const headers: Record<string, string> = { ...problem.headers };
  if (v2024) headers[API_VERSION_HEADER] = API_VERSION_2024;
  const wire = v2024
    ? { code: problem.code, message: problem.message }
    : { code: problem.status, error_code: problem.code, msg: problem.message };
  return problemResponse({
    type: `auth-${problem.code.replaceAll("_", "-")}`,
    status: problem.status,
    title: TITLES[problem.status] ?? "Error",
    detail: problem.message,
    ...problem.extra,
    ...wire,
  }, { headers });
}

/** Supabase Auth's refusals, one place per code. */
export const authProblems = {
  validation: (message: string) => new AuthApiProblem(400, "validation_failed", message),
  badJson: (reason: string) =>
    new AuthApiProblem(400, "bad_json", `Could not parse request body as JSON: ${reason}`),
  invalidCredentials: () =>
    new AuthApiProblem(400, "invalid_credentials", "Invalid login credentials"),
  noAuthorization: () =>
    new AuthApiProblem(401, "no_authorization", "This endpoint requires a valid Bearer token"),
  badJwt: (reason: string, status = 403) => new AuthApiProblem(status, "bad_jwt", reason),
  notAdmin: () => new AuthApiProblem(403, "not_admin", "User not allowed"),
  userNotFound: (message = "User not found", status = 404) =>
    new AuthApiProblem(status, "user_not_found", message),
  sessionNotFound: () =>
    new AuthApiProblem(
      403,
      "session_not_found",
      "Session from session_id claim in JWT does not exist",
    ),
  userAlreadyExists: () =>
    new AuthApiProblem(422, "user_already_exists", "User already registered"),
  emailExists: () =>
    new AuthApiProblem(
      422,
      "email_exists",
      "A user with this email address has already been registered",
    ),
  signupDisabled: () =>
    new AuthApiProblem(422, "signup_disabled", "Signups not allowed for this instance"),
  weakPassword: (message: string, reasons: string[]) =>
    new AuthApiProblem(422, "weak_password", message, { weak_password: { reasons } }),
  samePassword: () =>
    new AuthApiProblem(
      422,
      "same_password",
      "New password should be different from the old password.",
    ),
  userBanned: () => new AuthApiProblem(400, "user_banned", "User is banned"),
  emailNotConfirmed: () => new AuthApiProblem(400, "email_not_confirmed", "Email not confirmed"),
  refreshTokenNotFound: () =>
    new AuthApiProblem(
      400,
      "refresh_token_not_found",
      "Invalid Refresh Token: Refresh Token Not Found",
    ),
  refreshTokenAlreadyUsed: () =>
    new AuthApiProblem(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"),
  rateLimited: (retryAfterSeconds: number) =>
    new AuthApiProblem(429, "over_request_rate_limit", "Request rate limit reached", {}, {
      "retry-after": String(retryAfterSeconds),
    }),
  notFound: (path: string) => new AuthApiProblem(404, "not_found", `No Auth route for ${path}`),
  tooLarge: (limit: number) =>
    new AuthApiProblem(413, "request_too_large", `Request body exceeds ${limit} bytes`),
  unavailable: (retryAfterSeconds = 1) =>
    new AuthApiProblem(
      503,
      "unexpected_failure",
      "The database is unavailable; try again shortly",
      {},
      { "retry-after": String(retryAfterSeconds) },
    ),
  unexpected: () =>
    new AuthApiProblem(
      500,
      "unexpected_failure",
      "Unexpected failure, please check server logs for more information",
    ),
} as const;
