/**
 * RFC 9457 problem details: the one error shape every comptoir function answers with.
 *
 * `type` is a stable URI per error kind so clients branch on it, never on `title` or `detail`.
 * Every problem response is `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`
 * (an error is never worth caching, and one answered to a signed-in caller may describe their
 * data); `detail` and `instance` are cut to a bounded length, so a client that sends a huge path
 * or header value never gets it echoed back in full.
 * @module
 */

/** Media type of every error body (RFC 9457 §3). */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Base of the stable problem type URIs. */
export const PROBLEM_TYPE_BASE = "https://comptoir.dev/problems/";

/** Fields of a problem document; extension members are allowed (RFC 9457 §3.2). */
export interface ProblemDetails {
  /** Short kebab-case slug appended to {@linkcode PROBLEM_TYPE_BASE}, e.g. `not-found`. */
  type: string;
  /** HTTP status code. */
  status: number;
  /** Short, human-readable summary that does not change between occurrences. */
  title: string;
  /** Explanation specific to this occurrence. */
  detail?: string;
  /** URI reference of this occurrence (the request path by default). */
  instance?: string;
  /** Extension members, e.g. `errors` for validation problems. */
  [extension: string]: unknown;
}

/** Longest `detail` a problem carries, in characters. */
export const MAX_DETAIL_LENGTH = 500;

/** Longest `instance` (request path) a problem carries, in characters. */
export const MAX_INSTANCE_LENGTH = 200;

/**
 * `value` cut to `max` characters, an ellipsis marking the cut: for anything a client sent that an
 * error message repeats.
 *
 * @example
 * ```ts
 * boundedText("x".repeat(1000), 10); // "xxxxxxxxx…"
 * ```
 */
export function boundedText(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** Options of {@linkcode problemResponse}. */
export interface ProblemResponseOptions {
  /** Extra response headers, e.g. `Allow` or `Retry-After`. */
  headers?: HeadersInit;
}

/**
 * Builds an `application/problem+json` response.
 *
 * @example
 * ```ts
 * const res = problemResponse({ type: "not-found", status: 404, title: "Not Found" });
 * res.headers.get("content-type"); // "application/problem+json"
 * ```
 */
export function problemResponse(
  problem: ProblemDetails,
  options: ProblemResponseOptions = {},
): Response {
  const headers = new Headers(options.headers);
  headers.set("content-type", PROBLEM_CONTENT_TYPE);
  headers.set("x-content-type-options", "nosniff");
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
  const body = {
    ...problem,
    type: problem.type.includes(":") ? problem.type : PROBLEM_TYPE_BASE + problem.type,
    ...(typeof problem.detail === "string"
      ? { detail: boundedText(problem.detail, MAX_DETAIL_LENGTH) }
      : {}),
    ...(typeof problem.instance === "string"
      ? { instance: boundedText(problem.instance, MAX_INSTANCE_LENGTH) }
      : {}),
  };
  return new Response(JSON.stringify(body), { status: problem.status, headers });
}

/**
 * An error that carries its problem document to the HTTP edge; thrown by routes and middleware and
 * turned into a response by the app's single error handler.
 *
 * @example
 * ```ts
 * throw new ProblemError({ type: "forbidden", status: 403, title: "Forbidden" });
 * ```
 */
export class ProblemError extends Error {
  /** The problem document answered to the client. */
  readonly problem: ProblemDetails;
  /** Extra response headers. */
  readonly headers: HeadersInit | undefined;

  constructor(problem: ProblemDetails, options: ProblemResponseOptions & { cause?: unknown } = {}) {
    super(problem.detail ?? problem.title, { cause: options.cause });
    this.name = "ProblemError";
    this.problem = problem;
    this.headers = options.headers;
  }

  /** The response for this error; `instance` defaults to the given request path. */
  toResponse(instance?: string): Response {
    return problemResponse(
      { ...this.problem, instance: this.problem.instance ?? instance },
      { headers: this.headers },
    );
  }
}

/** Common problems, so each kind has exactly one type and title. */
export const problems = {
  badRequest: (detail: string, extra: Record<string, unknown> = {}): ProblemDetails => ({
    type: "bad-request",
    status: 400,
    title: "Bad Request",
    detail,
    ...extra,
  }),
  unauthorized: (detail: string): ProblemDetails => ({
    type: "unauthorized",
    status: 401,
    title: "Unauthorized",
    detail,
  }),
  forbidden: (detail: string): ProblemDetails => ({
    type: "forbidden",
    status: 403,
    title: "Forbidden",
    detail,
  }),
  notFound: (detail: string): ProblemDetails => ({
    type: "not-found",
    status: 404,
    title: "Not Found",
    detail,
  }),
  methodNotAllowed: (detail: string): ProblemDetails => ({
    type: "method-not-allowed",
    status: 405,
    title: "Method Not Allowed",
    detail,
  }),
  payloadTooLarge: (limitBytes: number): ProblemDetails => ({
    type: "payload-too-large",
    status: 413,
    title: "Payload Too Large",
    detail: `Request body exceeds ${limitBytes} bytes`,
    limit_bytes: limitBytes,
  }),
  unsupportedMediaType: (received: string | undefined, accepted: string[]): ProblemDetails => ({
    type: "unsupported-media-type",
    status: 415,
    title: "Unsupported Media Type",
    detail: `Content type ${received === undefined ? "(none)" : boundedText(received, 100)} ` +
      `is not accepted; use ${accepted.join(" or ")}`,
    accepted,
  }),
  serviceUnavailable: (detail: string): ProblemDetails => ({
    type: "service-unavailable",
    status: 503,
    title: "Service Unavailable",
    detail,
  }),
  internal: (): ProblemDetails => ({
    type: "internal",
    status: 500,
    title: "Internal Server Error",
    detail: "An unexpected error occurred; it has been logged",
  }),
} as const;
