/**
 * The one answer to "is this failure worth another try?", shared by retry, the circuit breaker and
 * `dependency_retry.ts`. Transient conditions (network, timeouts, overload, Postgres serialization
 * and connection failures, Upstash's REST endpoint failing) are retryable; everything that a retry would only repeat (validation, auth,
 * constraint violations, programming errors) is not. Unknown errors are not retryable: retrying a
 * failure nobody understood multiplies its cost.
 * @module
 */
import { sqlStateRule } from "../db/sqlstate.ts";
import { CircuitOpenError, DeadlineExceededError, TimeoutError } from "./errors.ts";

/** Broad family of a failure, for logs and metrics. */
export type FailureKind =
  | "network"
  | "timeout"
  | "http"
  | "postgres"
  | "cancelled"
  | "deadline"
  | "circuit_open"
  | "other";

/** Verdict of {@linkcode classify}. */
export interface Classification {
  /** Whether another attempt may succeed. */
  retryable: boolean;
  /** Family of the failure. */
  kind: FailureKind;
  /** Short machine-friendly reason, e.g. `http_503` or `sqlstate_40001`. */
  reason: string;
}

/** HTTP statuses that signal a transient condition (RFC 9110 §15.5.9, RFC 6585 §4, §15.6). */
const RETRYABLE_STATUS = new Set([408, 429]);
/** 5xx that no retry can fix: the server says it will never do this. */
const PERMANENT_5XX = new Set([501, 505]);

/** Error codes of socket-level failures (Node/Deno `code`), and postgres.js's own ones. */
const RETRYABLE_SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  // postgres.js: the server closed the socket, or connecting took too long.
  "CONNECTION_CLOSED",
  "CONNECT_TIMEOUT",
]);

/** postgres.js codes for a client that was deliberately ended: retrying would use a dead pool. */
const CLIENT_ENDED_CODES = new Set(["CONNECTION_ENDED", "CONNECTION_DESTROYED"]);

/** Deno's own network error classes (Deno.errors.*). */
const DENO_NETWORK_ERRORS = new Set([
  "ConnectionRefused",
  "ConnectionReset",
  "ConnectionAborted",
  "NotConnected",
  "BrokenPipe",
  "TimedOut",
]);

const FETCH_NETWORK_MESSAGE =
  /fetch failed|error sending request|failed to fetch|network ?error|connection (?:refused|reset|closed)/i;

/**
 * Classifies a thrown error or an HTTP response.
 *
 * @example
 * ```ts
 * classify(new Response(null, { status: 503 })); // { retryable: true, kind: "http", reason: "http_503" }
 * classify(Object.assign(new Error("dup"), { code: "23505" })).retryable; // false
 * ```
 */
export function classify(failure: unknown): Classification {
  if (failure instanceof Response) return classifyStatus(failure.status);
  if (failure instanceof CircuitOpenError) {
    return { retryable: false, kind: "circuit_open", reason: "circuit_open" };
  }
  if (failure instanceof DeadlineExceededError) {
    return { retryable: false, kind: "deadline", reason: "deadline_exceeded" };
  }
  if (failure instanceof TimeoutError) {
    return { retryable: true, kind: "timeout", reason: "timeout" };
  }
  if (!(failure instanceof Error) && !isRecord(failure)) {
    return { retryable: false, kind: "other", reason: "non_error" };
  }
  const err = failure as Record<string, unknown>;
  const name = typeof err.name === "string" ? err.name : "";

  if (name === "TimeoutError") return { retryable: true, kind: "timeout", reason: "timeout" };
  if (name === "AbortError") return { retryable: false, kind: "cancelled", reason: "aborted" };
  if (name === "UpstashError" || name === "UpstashJSONParseError") return classifyUpstash(err);

  const code = typeof err.code === "string" ? err.code : undefined;
  if (code !== undefined) {
    if (RETRYABLE_SOCKET_CODES.has(code)) {
      return { retryable: true, kind: "network", reason: code.toLowerCase() };
    }
    if (CLIENT_ENDED_CODES.has(code)) {
      return { retryable: false, kind: "network", reason: code.toLowerCase() };
    }
    if (isSqlState(code, err)) return classifySqlState(code);
  }

  if (DENO_NETWORK_ERRORS.has(name)) {
    return { retryable: true, kind: "network", reason: snake(name) };
  }
  if (name === "TypeError" && typeof err.message === "string") {
    if (FETCH_NETWORK_MESSAGE.test(err.message)) {
      return { retryable: true, kind: "network", reason: "fetch_failed" };
    }
  }

  const status = statusOf(err);
  if (status !== undefined) return classifyStatus(status);

  // A wrapper error (e.g. one that adds context) is judged by what it wraps.
  if (err.cause !== undefined && err.cause !== failure) {
    const inner = classify(err.cause);
    if (inner.kind !== "other") return inner;
  }
  return { retryable: false, kind: "other", reason: "unclassified" };
}

/**
 * Shorthand for `classify(failure).retryable`.
 *
 * @example
 * ```ts
 * isRetryable(new Response(null, { status: 429 })); // true
 * ```
 */
export function isRetryable(failure: unknown): boolean {
  return classify(failure).retryable;
}

/**
 * Redis error replies that a retry may cure (a replica loading, a script busy, a failover); any
 * other reply with a Redis error code (`ERR`, `WRONGTYPE`, `NOSCRIPT`, `WRONGPASS`…) would only be
 * repeated.
 */
const TRANSIENT_REDIS_REPLIES = new Set([
  "LOADING",
  "BUSY",
  "TRYAGAIN",
  "READONLY",
  "MASTERDOWN",
  "CLUSTERDOWN",
]);

/**
 * @upstash/redis throws `UpstashError` for every non-2xx answer without its status (1.39.0,
 * `HttpClient.request`), with the answer's `error` field as the message; a body that is not JSON
 * (a gateway's 502/503 page) gives `UpstashJSONParseError`. A Redis error reply starts with its
 * upper-case code; anything else is the REST endpoint failing, which is transient.
 */
function classifyUpstash(err: Record<string, unknown>): Classification {
  if (err.name === "UpstashJSONParseError") {
    return { retryable: true, kind: "http", reason: "upstash_unavailable" };
  }
  const code = /^([A-Z]{3,})\b/.exec(String(err.message ?? ""))?.[1];
  if (code === undefined || TRANSIENT_REDIS_REPLIES.has(code)) {
    return { retryable: true, kind: "http", reason: "upstash_unavailable" };
  }
  return { retryable: false, kind: "other", reason: `redis_${code.toLowerCase()}` };
}

function classifyStatus(status: number): Classification {
  const reason = `http_${status}`;
  if (RETRYABLE_STATUS.has(status)) return { retryable: true, kind: "http", reason };
  if (status >= 500 && status <= 599) {
    return { retryable: !PERMANENT_5XX.has(status), kind: "http", reason };
  }
  return { retryable: false, kind: "http", reason };
}

/**
 * SQLSTATEs are judged by the one table of db/sqlstate.ts: serialization failure and deadlock
 * (replayable), shutdowns, "cannot connect now", too many connections and class 08 are retryable.
 */
function classifySqlState(code: string): Classification {
  const reason = `sqlstate_${code.toLowerCase()}`;
  return { retryable: sqlStateRule(code).retryable, kind: "postgres", reason };
}

/**
 * A SQLSTATE is five characters of digits and upper-case letters; postgres.js puts it in `code` of a
 * `PostgresError` (which also carries `severity`). Socket codes such as `EPIPE` are matched before
 * this, so a five-letter errno is never mistaken for one.
 */
function isSqlState(code: string, err: Record<string, unknown>): boolean {
  if (!/^[0-9A-Z]{5}$/.test(code)) return false;
  return err.name === "PostgresError" || "severity" in err || /^[0-9]{2}/.test(code);
}

function statusOf(err: Record<string, unknown>): number | undefined {
  if (typeof err.status === "number") return err.status;
  if (typeof err.statusCode === "number") return err.statusCode;
  for (const key of ["response", "context"]) {
    const value = err[key];
    if (value instanceof Response) return value.status;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function snake(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
