/**
 * The request-validation middleware: parses query, path params, headers and the JSON body with zod
 * schemas and answers one problem+json listing every invalid field (RFC 9457 §3 `errors` with JSON
 * pointers). Status: 400 when the request itself is malformed (query, path, headers, unparsable JSON,
 * bytes that are not UTF-8), 422 when a well-formed JSON body breaks the rules.
 *
 * The answer stays small whatever the request: at most {@linkcode MAX_REPORTED_ERRORS} entries
 * (`error_count` gives the total, `errors_truncated` says when some were left out), pointers and
 * details cut to a bounded length, and the JSON parser's message (which quotes the body) replaced
 * by a fixed one.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import { boundedText, problem, ProblemError } from "../http/problem.ts";

/** Schemas for the parts of a request; object schemas are strict (unknown keys are errors). */
export interface RequestSchemas {
  query?: z.ZodType;
  params?: z.ZodType;
  headers?: z.ZodType;
  body?: z.ZodType;
}

/** The parsed parts of a request for `S`. */
export type ValidInput<S extends RequestSchemas> = {
  [K in keyof S]: S[K] extends z.ZodType ? z.output<S[K]> : never;
};

/** One invalid field. */
export interface FieldError {
  in: "query" | "path" | "header" | "body";
  /** JSON pointer (RFC 6901) to the field. */
  pointer: string;
  detail: string;
  code: string;
}

const INPUT_KEY = "validInput";

/** Most invalid fields one error response lists. */
export const MAX_REPORTED_ERRORS = 20;

/** Longest pointer or detail of a reported field, in characters. */
const MAX_FIELD_TEXT = 200;

/**
 * Validates the request and stores the parsed values for {@linkcode validInput}.
 *
 * @example
 * ```ts
 * const schemas = { query: z.object({ q: z.string() }).strict() };
 * app.get("/search", validate(schemas), (c) => c.json(validInput<typeof schemas>(c).query));
 * ```
 */
export function validate<S extends RequestSchemas>(schemas: S): MiddlewareHandler {
  return async function validateRequest(c, next) {
    const errors: FieldError[] = [];
    const parsed: Record<string, unknown> = {};
    const check = (part: keyof RequestSchemas, where: FieldError["in"], value: unknown) => {
      const schema = schemas[part];
      if (!schema) return;
      const result = schema.safeParse(value);
      if (result.success) parsed[part] = result.data;
      else errors.push(...result.error.issues.flatMap((issue) => toFieldErrors(where, issue)));
    };
    check("query", "query", queryObject(c.req.url));
    check("params", "path", c.req.param());
    if (schemas.headers) {
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((value, key) => headers[key] = value);
      check("headers", "header", headers);
    }
    const malformed = errors.length > 0;
    if (schemas.body) {
      const body = await readJson(c);
      check("body", "body", body);
    }
    if (errors.length > 0) {
      throw new ProblemError(problem(
        malformed ? "invalid-request" : "validation-failed",
        `${errors.length} invalid field${errors.length === 1 ? "" : "s"}`,
        {
          errors: errors.slice(0, MAX_REPORTED_ERRORS).map((e) => ({
            ...e,
            pointer: boundedText(e.pointer, MAX_FIELD_TEXT),
            detail: boundedText(e.detail, MAX_FIELD_TEXT),
          })),
          error_count: errors.length,
          ...(errors.length > MAX_REPORTED_ERRORS ? { errors_truncated: true } : {}),
        },
      ));
    }
    c.set(INPUT_KEY as never, parsed as never);
    await next();
  };
}

/** The values parsed by {@linkcode validate} for this request. */
export function validInput<S extends RequestSchemas>(c: Context): ValidInput<S> {
  return c.get(INPUT_KEY as never) as ValidInput<S>;
}

/**
 * Query string as an object: repeated keys become arrays. URLSearchParams never throws on bad
 * percent-encoding (it substitutes U+FFFD, which the text schemas reject).
 */
function queryObject(url: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of new URL(url).searchParams) {
    const existing = out[key];
    out[key] = existing === undefined
      ? value
      : Array.isArray(existing)
      ? [...existing, value]
      : [existing, value];
  }
  return out;
}

async function readJson(c: Context): Promise<unknown> {
  const bytes = new Uint8Array(await c.req.raw.arrayBuffer());
  if (bytes.length === 0) {
    throw new ProblemError(
      problem("invalid-json", "The request body is empty; send a JSON document"),
    );
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ProblemError(problem("invalid-encoding", "The request body is not valid UTF-8"));
  }
  try {
    return JSON.parse(text);
  } catch {
    // V8's message quotes the body: a fixed message instead.
    throw new ProblemError(problem("invalid-json", "The request body is not valid JSON"));
  }
}

function toFieldErrors(where: FieldError["in"], issue: z.core.$ZodIssue): FieldError[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      in: where,
      pointer: pointer([...issue.path, key]),
      detail: "Unknown field",
      code: "unknown_field",
    }));
  }
  return [{
    in: where,
    pointer: pointer(issue.path),
    detail: issue.message,
    code: issue.code,
  }];
}

function pointer(path: PropertyKey[]): string {
  return "/" + path.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}
