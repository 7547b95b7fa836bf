/**
 * Reads `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) from a response, from an
 * error that carries one, or from a raw header value.
 * @module
 */

/**
 * Parses a `Retry-After` value into milliseconds from `now`; `undefined` when absent or malformed.
 * Dates in the past give 0.
 *
 * @example
 * ```ts
 * parseRetryAfter("120", 0); // 120000
 * parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.UTC(2015, 9, 21, 7, 27, 0)); // 60000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // RFC 9110 only allows IMF-fixdate (and two obsolete forms); a bare number with a sign or a
  // fraction is not a valid value, so it is ignored rather than guessed at.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * The delay a failure asks for, in milliseconds: from a `Response`'s header, an error's numeric
 * `retryAfterMs`, or the `Retry-After` header of a response or headers object the error carries
 * (`response`, `context` or `headers`).
 *
 * @example
 * ```ts
 * const res = new Response(null, { status: 503, headers: { "retry-after": "2" } });
 * retryAfterMs(res, Date.now()); // 2000
 * ```
 */
export function retryAfterMs(failure: unknown, now: number): number | undefined {
  if (failure instanceof Response) return parseRetryAfter(failure.headers.get("retry-after"), now);
  if (typeof failure !== "object" || failure === null) return undefined;
  const err = failure as Record<string, unknown>;
  if (typeof err.retryAfterMs === "number" && Number.isFinite(err.retryAfterMs)) {
    return Math.max(0, err.retryAfterMs);
  }
  for (const key of ["response", "context"]) {
    const value = err[key];
    if (value instanceof Response) return parseRetryAfter(value.headers.get("retry-after"), now);
  }
  const headers = err.headers;
  if (headers instanceof Headers) return parseRetryAfter(headers.get("retry-after"), now);
  if (typeof headers === "object" && headers !== null) {
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === "retry-after" && typeof value === "string") {
        return parseRetryAfter(value, now);
      }
    }
  }
  return undefined;
}
