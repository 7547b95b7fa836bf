/**
 * The Hono app every comptoir function starts from: base path `/<function>` (the path a Supabase
 * function sees), HTTP metrics (unless `COMPTOIR_METRICS=off`), security headers (hono's
 * secure-headers: `X-Content-Type-Options: nosniff` and the rest on every response), request id,
 * a request deadline (resilience/deadline_middleware.ts: 504 when it passes), CORS, body limit,
 * JSON-only bodies, and one error handler that answers RFC 9457 problem+json for everything —
 * unknown routes (404), wrong methods (405 with `Allow`), oversized bodies (413), other media types
 * (415) and unexpected errors (500, logged).
 * @module
 */
import { Hono } from "hono";
import type { Context, Env, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { ProblemError, problemResponse, problems } from "./problem.ts";
import { httpMetrics } from "../metrics/middleware.ts";
import { recordAuthEvent } from "../metrics/hooks.ts";
import { subscribeAuthEvents } from "../auth/events.ts";
import { METRICS_ENABLED } from "../metrics/pipeline.ts";
import { testFaults, testFaultsEnabled } from "../metrics/fault_switch.ts";
import { requestDeadline } from "../resilience/deadline_middleware.ts";

/** Headers a browser may send to a comptoir function (supabase-js sends the first three). */
export const CORS_ALLOW_HEADERS = [
  "authorization",
  "x-client-info",
  "apikey",
  "content-type",
  "idempotency-key",
  "api-version",
  "accept-version",
  "x-request-id",
];

/** Options of {@linkcode createFunctionApp}. */
export interface CreateFunctionAppOptions {
  /** Largest accepted request body in bytes. */
  maxBodyBytes?: number;
  /** Allowed CORS origins; `*` by default like Supabase's examples. */
  corsOrigin?: string | string[];
  /**
   * Hono's `getPath`: the path a request is routed by (API versioning routes `/api/products` with
   * `API-Version: 2` to `/api/v2/products`, see versioning.ts). Default: the URL's path.
   */
  getPath?: (request: Request) => string;
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/**
 * Creates the function's Hono app mounted under `/<name>`.
 *
 * @example
 * ```ts
 * const app = createFunctionApp("health");
 * app.get("/", (c) => c.json({ status: "ok" }));
 * Deno.serve(app.fetch);
 * ```
 */
export function createFunctionApp<E extends Env = Env>(
  name: string,
  { maxBodyBytes = 64 * 1024, corsOrigin = "*", getPath }: CreateFunctionAppOptions = {},
): Hono<E> {
  const app = new Hono<E>(getPath ? { getPath } : {}).basePath(`/${name}`);

  // First, so that every response is counted, the ones other middleware answers included.
  if (METRICS_ENABLED) {
    app.use(httpMetrics({ functionName: name }));
    subscribeAuthMetricsOnce();
  }
  // Only in the local gateway's test processes (metrics/fault_switch.ts).
  if (testFaultsEnabled()) app.use(testFaults());
  // Browsers call the functions cross-origin (CORS below): a same-origin resource policy would not
  // stop CORS reads anyway and would only confuse, so the policy says so.
  app.use(secureHeaders({ crossOriginResourcePolicy: "cross-origin" }));
  app.use(requestId({ headerName: "x-request-id" }));
  // Every retry below a route stays within the time the request has left (504 when it is gone).
  app.use(requestDeadline() as unknown as MiddlewareHandler<E>);
  app.use(
    cors({
      origin: corsOrigin,
      allowHeaders: CORS_ALLOW_HEADERS,
      allowMethods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      exposeHeaders: [
        "x-request-id",
        "retry-after",
        "ratelimit",
        "ratelimit-policy",
        "deprecation",
        "sunset",
        "link",
        "content-disposition",
        "x-export-rows",
        "x-export-page",
      ],
      maxAge: 86400,
    }),
  );
  app.use(async function jsonBodiesOnly(c, next) {
    if (BODY_METHODS.has(c.req.method) && hasBody(c.req.raw)) {
      const type = c.req.header("content-type");
      const essence = type?.split(";")[0].trim().toLowerCase();
      if (essence !== "application/json" && !essence?.endsWith("+json")) {
        throw new ProblemError(problems.unsupportedMediaType(type, ["application/json"]));
      }
    }
    await next();
  });
  app.use(
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new ProblemError(problems.payloadTooLarge(maxBodyBytes));
      },
    }),
  );

  app.notFound(function routeNotFound(c) {
    const allowed = allowedMethods(app.routes, c.req.path);
    if (allowed.length > 0) {
      return problemResponse(
        problems.methodNotAllowed(`${c.req.method} is not allowed on ${c.req.path}`),
        { headers: { allow: allowed.join(", ") } },
      );
    }
    return problemResponse({
      ...problems.notFound(`No route for ${c.req.method} ${c.req.path}`),
      instance: c.req.path,
    });
  });

  app.onError(function toProblem(err, c) {
    return errorResponse(err, c);
  });

  return app;
}

let authMetrics = false;

/** Authentication events feed the auth metrics, once per isolate whatever the number of apps. */
function subscribeAuthMetricsOnce(): void {
  if (authMetrics) return;
  authMetrics = true;
  subscribeAuthEvents(recordAuthEvent);
}

/** Turns any thrown value into the problem+json response the client receives. */
export function errorResponse(err: unknown, c: Context): Response {
  if (err instanceof ProblemError) return err.toResponse(c.req.path);
  if (err instanceof HTTPException) {
    const status = err.status;
    return problemResponse({
      type: status >= 500 ? "internal" : "http-error",
      status,
      title: err.message || "HTTP Error",
      instance: c.req.path,
    });
  }
  console.error(JSON.stringify({
    level: "error",
    msg: "unhandled error",
    request_id: c.get("requestId" as never),
    path: c.req.path,
    error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  }));
  return problemResponse({ ...problems.internal(), instance: c.req.path });
}

function hasBody(req: Request): boolean {
  const length = req.headers.get("content-length");
  if (length !== null) return Number(length) > 0;
  return req.body !== null;
}

/** Methods registered for `path`, so a wrong method gets 405 with `Allow` instead of 404. */
function allowedMethods(
  routes: readonly { method: string; path: string }[],
  path: string,
): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL") continue;
    if (routePattern(route.path).test(path)) methods.add(route.method);
  }
  if (methods.has("GET")) methods.add("HEAD");
  if (methods.size > 0) methods.add("OPTIONS");
  return [...methods].sort();
}

const patternCache = new Map<string, RegExp>();

function routePattern(path: string): RegExp {
  let pattern = patternCache.get(path);
  if (!pattern) {
    const source = path
      .split("/")
      .map((segment) => {
        if (segment === "*") return ".*";
        const param = /^:[^{]+(?:\{(.+)\})?\??$/.exec(segment);
        if (param) return param[1] ? `(?:${param[1]})` : "[^/]+";
        return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .join("/");
    pattern = new RegExp(`^${source}/?$`);
    patternCache.set(path, pattern);
  }
  return pattern;
}
