/**
 * Routes declared once: the same declaration registers the Hono handler and describes the route in
 * the OpenAPI 3.1 document, whose schemas come from the same zod schemas (zod 4's JSON Schema
 * output is the 2020-12 dialect OpenAPI 3.1 uses). A declaration names its method, path, schemas,
 * roles, rate-limit policy and HTTP caching; the registry builds one chain per route, in this
 * order: per-address limits, authentication (once), the role check, per-user limits, validation,
 * conditional GET (cacheable routes), the handler. Database errors and every other failure become
 * problem+json in the app's one error handler; versioning and metrics are the app's middleware.
 * @module
 */
import type { Context, Env, Hono, MiddlewareHandler } from "hono";
import { etag, RETAINED_304_HEADERS } from "hono/etag";
import { z } from "zod";
import { describeStatus, type ProblemType } from "./problem.ts";
import {
  authenticate,
  type CallerRole,
  type RequireRoleOptions,
  requireRoleWith,
} from "../auth/caller.ts";
import {
  type RequestSchemas,
  validate,
  type ValidInput,
  validInput,
} from "../validation/validate.ts";

/** A documented response. */
export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  headers?: Record<string, string>;
}

/** A route's rate limiting, in the two places of its chain. */
export interface RouteProtection {
  /** Runs before authentication: per-address limits (bad tokens count too). */
  beforeAuth: MiddlewareHandler[];
  /** Runs once the caller is known and allowed, before validation: per-user limits. */
  middleware: MiddlewareHandler[];
}

/**
 * HTTP caching of a public route (RFC 9111): `Cache-Control: public, max-age, stale-while-revalidate`
 * and a strong `ETag` on its 200s, `304 Not Modified` for an `If-None-Match` that matches.
 */
export interface CachePolicy {
  /** Seconds a cache may serve the answer without asking again. */
  maxAgeSeconds: number;
  /** Seconds after that during which a cache may serve it while it revalidates in the background. */
  staleWhileRevalidateSeconds: number;
}

/** A route declaration. */
export interface RouteSpec<S extends RequestSchemas, V extends string, P extends string = string> {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Path after the version, Hono syntax: `/products/:id`. */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  /**
   * Roles allowed; absent = anyone, including anonymous callers. A route with roles answers with
   * the caller's own data, so its responses are `Cache-Control: no-store`.
   */
  roles?: CallerRole[];
  request: S;
  /** Success responses by status, per version when they differ. */
  responses: Record<number, ResponseSpec | ((version: V) => ResponseSpec)>;
  /** Error statuses this route answers with problem+json. */
  errors: number[];
  /** Versions serving it. */
  versions?: readonly V[];
  /** The rate-limit policy of the route, applied through the registry's `protect` option. */
  rateLimit?: P;
  /**
   * HTTP caching; only for routes without roles (public data, the same for every caller):
   * signed-in routes are `Cache-Control: no-store`.
   */
  cache?: CachePolicy;
  /**
   * Middleware run first, before authentication (per-address rate limits: bad tokens count too).
   */
  beforeAuth?: MiddlewareHandler[];
  /**
   * Middleware run once the caller is known and has an allowed role, before validation (per-user
   * rate limits: bad input counts too).
   */
  middleware?: MiddlewareHandler[];
  handler: (c: Context, input: ValidInput<S>, version: V) => Response | Promise<Response>;
}

/** Options of {@linkcode ApiRegistry}. */
export interface ApiRegistryOptions<V extends string, P extends string = string> {
  /** Base path of the function, e.g. `/api`. */
  basePath: string;
  versions: readonly V[];
  title: string;
  version: string;
  description?: string;
  /** Versions marked deprecated in the document. */
  deprecated?: readonly V[];
  /** Told of each caller a route's `roles` refuse (the audit trail); must not throw. */
  onRefused?: RequireRoleOptions["onRefused"];
  /** The chain of a rate-limit policy (routes name theirs in `rateLimit`). */
  protect?: (policy: P) => RouteProtection;
  /** The function's own problem types, described in the document with the shared ones. */
  problemTypes?: Record<string, ProblemType>;
}

interface Recorded {
  version: string;
  spec: RouteSpec<RequestSchemas, string>;
}

/**
 * Headers a 304 keeps besides those RFC 9110 lists (hono's etag middleware keeps only those):
 * without the CORS ones a browser refuses the cross-origin 304.
 */
const RETAINED_ON_304 = [
  ...RETAINED_304_HEADERS,
  "access-control-allow-origin",
  "access-control-expose-headers",
  "x-request-id",
];

/**
 * Registers routes on a Hono app and builds the OpenAPI document of what it registered.
 *
 * @example
 * ```ts
 * const api = new ApiRegistry(app, { basePath: "/api", versions: ["v1"], title: "Shop", version: "1" });
 * api.route({ method: "get", path: "/ping", summary: "Ping", tags: ["meta"], request: {},
 *   responses: { 200: { description: "pong" } }, errors: [], handler: (c) => c.json({ ok: true }) });
 * ```
 */
export class ApiRegistry<V extends string, P extends string = string, E extends Env = Env> {
  readonly #app: Hono<E>;
  readonly #options: ApiRegistryOptions<V, P>;
  readonly #routes: Recorded[] = [];
  readonly #policies = new Map<string, P>();

  constructor(app: Hono<E>, options: ApiRegistryOptions<V, P>) {
    this.#app = app;
    this.#options = options;
  }

  /** Registers `spec` under each of its versions. */
  route<S extends RequestSchemas>(spec: RouteSpec<S, V, P>): void {
    if (spec.cache && spec.roles) {
      throw new TypeError(`${spec.method} ${spec.path}: a route with roles cannot be cached`);
    }
    const limits = spec.rateLimit === undefined
      ? { beforeAuth: [], middleware: [] }
      : this.#protect(spec.rateLimit);
    const key = `${spec.method.toUpperCase()} ${spec.path}`;
    if (spec.rateLimit !== undefined) this.#policies.set(key, spec.rateLimit);
    const auth = authenticate();
    const role = spec.roles
      ? requireRoleWith(spec.roles, { onRefused: this.#options.onRefused })
      : undefined;
    const check = validate(spec.request);
    const cache = spec.cache ? cacheable(spec.cache) : [];
    for (const version of spec.versions ?? this.#options.versions) {
      const handlers: MiddlewareHandler[] = [
        ...limits.beforeAuth,
        ...(spec.beforeAuth ?? []),
        auth,
        ...(role ? [role] : []),
        ...limits.middleware,
        ...(spec.middleware ?? []),
        check,
        ...cache,
      ];
      this.#app.on(
        spec.method.toUpperCase(),
        `/${version}${spec.path}`,
        ...handlers as [MiddlewareHandler],
        function routeHandler(c: Context) {
          if (spec.roles) c.header("cache-control", "no-store");
          return spec.handler(c, validInput<S>(c), version);
        },
      );
      this.#routes.push({ version, spec: spec as unknown as RouteSpec<RequestSchemas, string> });
    }
  }

  #protect(policy: P): RouteProtection {
    if (!this.#options.protect) {
      throw new TypeError(`rate-limit policy ${policy} named, but the registry has no protect`);
    }
    return this.#options.protect(policy);
  }

  /** The rate-limit policy of every route that has one, by `METHOD /path` (version left out). */
  policies(): Record<string, P> {
    return Object.fromEntries(this.#policies);
  }

  /** Every registered route as `METHOD /base/version/path` (for tests). */
  list(): string[] {
    return this.#routes.map((r) =>
      `${r.spec.method.toUpperCase()} ${this.#options.basePath}/${r.version}${r.spec.path}`
    );
  }

  /** The OpenAPI 3.1 document. */
  document(): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const { version, spec } of this.#routes) {
      const path = `${this.#options.basePath}/${version}${spec.path}`.replace(
        /:(\w+)(\{[^}]*\})?/g,
        "{$1}",
      );
      const responses: Record<string, unknown> = {};
      for (const [status, entry] of Object.entries(spec.responses)) {
        const r = typeof entry === "function" ? entry(version) : entry;
        responses[status] = {
          description: r.description,
          ...(r.headers
            ? {
              headers: Object.fromEntries(
                Object.entries(r.headers).map((
                  [k, d],
                ) => [k, { description: d, schema: { type: "string" } }]),
              ),
            }
            : {}),
          ...(r.schema
            ? { content: { "application/json": { schema: jsonSchema(r.schema, "output") } } }
            : {}),
        };
      }
      if (spec.cache) {
        responses["304"] = {
          description: "Not modified: the If-None-Match ETag still matches (no body)",
          headers: {
            etag: { description: "Strong ETag of the answer", schema: { type: "string" } },
            "cache-control": { description: "As on the 200", schema: { type: "string" } },
          },
        };
      }
      for (const status of [...new Set([...spec.errors, 500])].sort()) {
        responses[String(status)] = {
          description: describeStatus(status, this.#options.problemTypes ?? {}),
          content: {
            "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } },
          },
        };
      }
      paths[path] ??= {};
      paths[path][spec.method] = {
        operationId: `${version}_${spec.method}_${
          spec.path.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_|_$/g, "")
        }`,
        summary: spec.summary,
        ...(spec.description ? { description: spec.description } : {}),
        tags: spec.tags,
        ...(this.#options.deprecated?.includes(version as V) ? { deprecated: true } : {}),
        security: spec.roles ? [{ bearerAuth: [] }] : [{ bearerAuth: [] }, {}],
        parameters: [
          ...parameters(spec.request.params, "path"),
          ...parameters(spec.request.query, "query"),
          ...parameters(spec.request.headers, "header"),
        ],
        ...(spec.request.body
          ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: jsonSchema(spec.request.body, "input") } },
            },
          }
          : {}),
        responses,
      };
    }
    return {
      openapi: "3.1.0",
      info: {
        title: this.#options.title,
        version: this.#options.version,
        ...(this.#options.description ? { description: this.#options.description } : {}),
      },
      servers: [{ url: "/functions/v1" }],
      paths,
      components: {
        securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
        schemas: { Problem: PROBLEM_SCHEMA },
      },
    };
  }
}

/** Conditional GET and the caching headers of a cacheable route's 200s. */
function cacheable(
  { maxAgeSeconds, staleWhileRevalidateSeconds }: CachePolicy,
): MiddlewareHandler[] {
  const cacheControl =
    `public, max-age=${maxAgeSeconds}, stale-while-revalidate=${staleWhileRevalidateSeconds}`;
  // The etag middleware runs outside: it turns the 200, headers set, into the 304 that keeps them.
  return [
    etag({ retainedHeaders: RETAINED_ON_304 }),
    async function cacheHeaders(c, next) {
      await next();
      if (c.res.status === 200 || c.res.status === 304) c.header("cache-control", cacheControl);
    },
  ];
}

const PROBLEM_SCHEMA = {
  type: "object",
  description: "RFC 9457 problem details",
  required: ["type", "title", "status"],
  properties: {
    type: { type: "string", format: "uri" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    instance: { type: "string" },
    errors: {
      type: "array",
      items: {
        type: "object",
        properties: {
          in: { enum: ["query", "path", "header", "body"] },
          pointer: { type: "string" },
          detail: { type: "string" },
          code: { type: "string" },
        },
      },
    },
    error_count: { type: "integer", description: "Invalid fields found, listed or not" },
    errors_truncated: {
      type: "boolean",
      description: "Present when `errors` lists only the first of `error_count` fields",
    },
  },
};

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
}

function parameters(schema: z.ZodType | undefined, where: "path" | "query" | "header") {
  if (!schema) return [];
  const json = jsonSchema(schema, "input") as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || (json.required ?? []).includes(name),
    ...(typeof property.description === "string" ? { description: property.description } : {}),
    schema: property,
  }));
}
