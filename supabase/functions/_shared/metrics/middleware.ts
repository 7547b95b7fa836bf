/**
 * The HTTP metrics middleware that `createFunctionApp` installs first in every function:
 * `comptoir_http_requests_total`, `comptoir_http_request_duration_seconds` (until the handler
 * returns the response: a streamed body's time is not included) and
 * `comptoir_http_requests_in_flight`. The `route` label is the matched route's template as
 * registered in Hono, base path included (`/api/v1/products/:id`), never the raw path, so its
 * values are bounded by the route table; `unmatched` when no route matched (404 and 405 before
 * routing, CORS preflights answered by middleware). `status_class` comes from the response the
 * client receives, after the error handler.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { FUNCTION_LABEL, statusClass } from "./labels.ts";
import { metricsPipeline } from "./pipeline.ts";
import type { MetricsRegistry } from "./registry.ts";

/** Options of {@linkcode httpMetrics}. */
export interface HttpMetricsOptions {
  /** The function's name, the `function` label (`api`, `health`, ...). */
  functionName: string;
  /** Buffer to record into; the isolate's pipeline by default. */
  registry?: MetricsRegistry;
  /** Called after each request is recorded; schedules the isolate's flush by default. */
  onRecord?: () => void;
}

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Method of routes registered with `app.use()` (middleware) in Hono's router. */
const MIDDLEWARE_METHOD = "ALL";

/**
 * Creates the middleware. A function outside the contract's `function` values is not counted
 * (with one warning), since its label could not be exported.
 *
 * @example
 * ```ts
 * const app = new Hono().basePath("/health");
 * app.use(httpMetrics({ functionName: "health" }));
 * ```
 */
export function httpMetrics(
  { functionName, registry, onRecord }: HttpMetricsOptions,
): MiddlewareHandler {
  if (!FUNCTION_LABEL.values!.has(functionName)) {
    console.warn(JSON.stringify({
      level: "warn",
      msg: `function ${functionName} is not in the metrics contract; its requests are not counted`,
    }));
    return async function httpMetricsOff(_c, next) {
      await next();
    };
  }
  let buffer = registry;
  let notify = onRecord;
  let inFlightKey: string | undefined;
  // Label keys by route, method and status class: bounded by the route table, and building a key
  // (bounding and escaping four labels) costs more than the rest of the recording.
  const keys = new Map<string, string | undefined>();
  return async function httpMetrics(c, next) {
    if (!buffer) {
      const pipeline = metricsPipeline();
      buffer = pipeline.registry;
      notify ??= () => pipeline.flusher.notify();
    }
    inFlightKey ??= buffer.seriesKey("comptoir_http_requests_in_flight", {
      function: functionName,
    });
    const started = performance.now();
    const route = routeOf(c);
    let status = 500;
    buffer.addGaugeAt("comptoir_http_requests_in_flight", inFlightKey!, 1);
    try {
      await next();
      status = c.res.status;
    } finally {
      buffer.addGaugeAt("comptoir_http_requests_in_flight", inFlightKey!, -1);
      const seconds = (performance.now() - started) / 1000;
      const method = c.req.method;
      const cls = statusClass(status);
      const id = `${route} ${method} ${cls}`;
      let key = keys.get(id);
      if (key === undefined && !keys.has(id)) {
        key = buffer.httpKey(functionName, route, method, cls);
        // Unknown methods share OTHER's key but are not remembered one by one.
        if (KNOWN_METHODS.has(method)) keys.set(id, key);
      }
      if (key !== undefined) buffer.recordHttp(key, seconds);
      notify?.();
    }
  };
}

/**
 * The template of the route that will answer: the first matched route registered for a method
 * (middleware is registered for `ALL`), else `unmatched`. Read before the handlers run, so a
 * request refused by authentication or rate limiting still counts under its route.
 */
function routeOf(c: Context): string {
  for (const route of matchedRoutes(c)) {
    if (route.method !== MIDDLEWARE_METHOD) return route.path;
  }
  return "unmatched";
}
