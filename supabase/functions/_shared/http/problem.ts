/**
 * RFC 9457 problem details: the one error shape every comptoir function answers with, and the one
 * catalog of the shared library's problem types ({@linkcode PROBLEM_TYPES}: status and title of
 * each, which the OpenAPI document's error descriptions are generated from). A function adds its
 * own types with {@linkcode defineProblemTypes} (the api's order errors, api/shop_errors.ts).
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

import type { CircuitOpenError } from "../resilience/errors.ts";

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

/** A problem type: the status it is answered with and its title, which never changes. */
export interface ProblemType {
  status: number;
  title: string;
}

/**
 * Checks and returns a table of problem types (slugs in kebab case, statuses 400-599).
 *
 * @example
 * ```ts
 * const SHOP = defineProblemTypes({ "insufficient-stock": { status: 409, title: "Not enough stock" } });
 * ```
 */
export function defineProblemTypes<T extends Record<string, ProblemType>>(types: T): T {
  for (const [slug, { status }] of Object.entries(types)) {
    if (!/^[a-z]+(-[a-z0-9]+)*$/.test(slug)) throw new TypeError(`bad problem type slug ${slug}`);
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`problem type ${slug} has status ${status}`);
    }
  }
  return Object.freeze(types);
}

/** The problem types of the shared library, each with its one status and title. */
export const PROBLEM_TYPES = defineProblemTypes({
  "bad-request": { status: 400, title: "Bad Request" },
  "invalid-request": { status: 400, title: "Invalid request" },
  "invalid-json": { status: 400, title: "Invalid JSON body" },
  "invalid-encoding": { status: 400, title: "Invalid body encoding" },
  "unsupported-api-version": { status: 400, title: "Unsupported API version" },
  "unauthorized": { status: 401, title: "Unauthorized" },
  "forbidden": { status: 403, title: "Forbidden" },
  "not-found": { status: 404, title: "Not Found" },
  "method-not-allowed": { status: 405, title: "Method Not Allowed" },
  "constraint-violation": { status: 409, title: "Conflict" },
  "payload-too-large": { status: 413, title: "Payload Too Large" },
  "unsupported-media-type": { status: 415, title: "Unsupported Media Type" },
  "validation-failed": { status: 422, title: "Validation failed" },
  "rate-limited": { status: 429, title: "Too Many Requests" },
  "internal": { status: 500, title: "Internal Server Error" },
  "service-unavailable": { status: 503, title: "Service Unavailable" },
  "dependency-unavailable": { status: 503, title: "Service Unavailable" },
  "rate-limit-unavailable": { status: 503, title: "Service Unavailable" },
  "deadline-exceeded": { status: 504, title: "Gateway Timeout" },
  "upstream-timeout": { status: 504, title: "Gateway Timeout" },
});

/** A type of {@linkcode PROBLEM_TYPES}. */
export type ProblemTypeSlug = keyof typeof PROBLEM_TYPES;

/**
 * The problem of `type` from `catalog` (the shared one by default), with its status and title.
 *
 * @example
 * ```ts
 * throw new ProblemError(problem("invalid-json", "The request body is not valid JSON"));
 * ```
 */
export function problem<T extends Record<string, ProblemType> = typeof PROBLEM_TYPES>(
  type: keyof T & string,
  detail?: string,
  extra: Record<string, unknown> = {},
  catalog: T = PROBLEM_TYPES as unknown as T,
): ProblemDetails {
  const { status, title } = catalog[type];
  return { type, status, title, ...(detail === undefined ? {} : { detail }), ...extra };
}

/**
 * What an OpenAPI document says of an error status: the titles and types answered with it.
 *
 * @example
 * ```ts
 * describeStatus(504); // "Gateway Timeout: deadline-exceeded, upstream-timeout"
 * ```
 */
export function describeStatus(
  status: number,
  ...catalogs: Record<string, ProblemType>[]
): string {
  const entries = [PROBLEM_TYPES, ...catalogs].flatMap((c) =>
    Object.entries(c).filter(([, t]) => t.status === status)
  );
  if (entries.length === 0) return "Error";
  const titles = [...new Set(entries.map(([, t]) => t.title))];
  return `${titles.join(" / ")}: ${entries.map(([slug]) => slug).join(", ")}`;
}

/** Common problems, so each kind has exactly one type and title. */
export const problems = {
  badRequest: (detail: string, extra: Record<string, unknown> = {}): ProblemDetails =>
    problem("bad-request", detail, extra),
  unauthorized: (detail: string): ProblemDetails => problem("unauthorized", detail),
  forbidden: (detail: string): ProblemDetails => problem("forbidden", detail),
  notFound: (detail: string): ProblemDetails => problem("not-found", detail),
  methodNotAllowed: (detail: string): ProblemDetails => problem("method-not-allowed", detail),
  payloadTooLarge: (limitBytes: number): ProblemDetails =>
    problem("payload-too-large", `Request body exceeds ${limitBytes} bytes`, {
      limit_bytes: limitBytes,
    }),
  unsupportedMediaType: (received: string | undefined, accepted: string[]): ProblemDetails =>
    problem(
      "unsupported-media-type",
      `Content type ${received === undefined ? "(none)" : boundedText(received, 100)} ` +
        `is not accepted; use ${accepted.join(" or ")}`,
      { accepted },
    ),
  serviceUnavailable: (detail: string): ProblemDetails => problem("service-unavailable", detail),
  internal: (): ProblemDetails =>
    problem("internal", "An unexpected error occurred; it has been logged"),
} as const;

/**
 * 503 `dependency-unavailable` for an open breaker, with `Retry-After` in whole seconds (rounded
 * up, RFC 9110 §10.2.3 has no fractions) and the exact delay as `retry_after_ms`.
 *
 * @example
 * ```ts
 * try {
 *   await breaker.execute(call);
 * } catch (e) {
 *   if (e instanceof CircuitOpenError) throw circuitOpenProblem(e);
 *   throw e;
 * }
 * ```
 */
export function circuitOpenProblem(error: CircuitOpenError): ProblemError {
  const seconds = Math.ceil(error.retryAfterMs / 1000);
  return new ProblemError(
    problem(
      "dependency-unavailable",
      `A service this request needs (${error.dependency}) is failing; try again later`,
      { dependency: error.dependency, retry_after_ms: error.retryAfterMs },
    ),
    { headers: { "retry-after": String(seconds) }, cause: error },
  );
}
