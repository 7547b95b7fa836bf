/**
 * API versioning. The version of a request comes from, in this order of precedence:
 *   1. the path: `/api/v2/products`;
 *   2. the `API-Version` header, then the `Accept-Version` header (`2` or `v2`);
 *   3. the `api-version` query parameter;
 *   4. the default version.
 * A request without a version in its path is routed to the versioned path (`/api/products` with
 * `API-Version: 2` is served by `/api/v2/products`). An unknown version answers 400 listing the
 * supported ones. A deprecated version's responses carry `Deprecation` (RFC 9745), `Sunset`
 * (RFC 8594) and `Link: <successor>; rel="successor-version"`. Every response says which version
 * served it in `API-Version`.
 * @module
 */
import { problemResponse } from "./problem.ts";

/** A deprecated version's schedule. */
export interface Deprecation {
  /** When the version was deprecated. */
  deprecatedAt: Date;
  /** When it stops being served. */
  sunsetAt: Date;
  /** Version that replaces it. */
  successor: string;
}

/** Options of {@linkcode withVersioning}. */
export interface VersioningOptions {
  /** Path prefix of the versioned API, e.g. `/api`. */
  basePath: string;
  /** Supported versions, e.g. `["v1", "v2"]`. */
  supported: readonly string[];
  /** Version of requests that name none. */
  defaultVersion: string;
  /** Deprecated versions. */
  deprecated?: Record<string, Deprecation>;
  /** Paths under basePath that are not versioned (e.g. `/api/openapi.json`). */
  unversioned?: readonly string[];
}

/** Where a request's version came from. */
export type VersionSource = "path" | "api-version" | "accept-version" | "query" | "default";

/** The version of a request, or the problem to answer. */
export type VersionResolution =
  | { ok: true; version: string; source: VersionSource; rest: string }
  | { ok: false; requested: string; source: VersionSource };

const PATH_VERSION = /^\/(v\d+)(\/.*)?$/;

/**
 * Resolves the version of `request` with the documented precedence.
 *
 * @example
 * ```ts
 * resolveVersion(new Request("http://x/api/v2/products"), options); // { ok: true, version: "v2", ... }
 * ```
 */
export function resolveVersion(request: Request, options: VersioningOptions): VersionResolution {
  const url = new URL(request.url);
  const after = url.pathname.slice(options.basePath.length) || "/";
  const inPath = PATH_VERSION.exec(after);
  const candidates: [VersionSource, string | null][] = [
    ["path", inPath ? inPath[1] : null],
    ["api-version", request.headers.get("api-version")],
    ["accept-version", request.headers.get("accept-version")],
    ["query", url.searchParams.get("api-version")],
  ];
  const rest = inPath ? inPath[2] ?? "/" : after;
  for (const [source, raw] of candidates) {
    if (raw === null || raw.trim() === "") continue;
    const version = normalise(raw);
    if (!options.supported.includes(version)) return { ok: false, requested: raw, source };
    return { ok: true, version, source, rest };
  }
  return { ok: true, version: options.defaultVersion, source: "default", rest };
}

function normalise(raw: string): string {
  const v = raw.trim().toLowerCase();
  return /^\d+$/.test(v) ? `v${v}` : v;
}

/**
 * Wraps a fetch handler whose routes live under `<basePath>/<version>/…`.
 *
 * @example
 * ```ts
 * const fetch = withVersioning(app.fetch, { basePath: "/api", supported: ["v1", "v2"], defaultVersion: "v1" });
 * ```
 */
export function withVersioning<A extends unknown[]>(
  fetch: (request: Request, ...rest: A) => Response | Promise<Response>,
  options: VersioningOptions,
): (request: Request, ...rest: A) => Promise<Response> {
  // `rest` is what the server passes on (Deno.serve's connection info, Hono's c.env).
  return async function versioned(request, ...rest) {
    const url = new URL(request.url);
    const inApi = url.pathname === options.basePath ||
      url.pathname.startsWith(options.basePath + "/");
    if (!inApi || options.unversioned?.includes(url.pathname) || request.method === "OPTIONS") {
      return await fetch(request, ...rest);
    }
    const resolution = resolveVersion(request, options);
    if (!resolution.ok) {
      return problemResponse({
        type: "unsupported-api-version",
        status: 400,
        title: "Unsupported API version",
        detail:
          `API version ${resolution.requested} (from ${resolution.source}) is not supported; ` +
          `use one of ${options.supported.join(", ")}`,
        supported_versions: [...options.supported],
        instance: url.pathname,
      });
    }
    url.pathname = `${options.basePath}/${resolution.version}${
      resolution.rest === "/" ? "" : resolution.rest
    }`;
    const response = await fetch(new Request(url, request), ...rest);
    const headers = new Headers(response.headers);
    headers.set("api-version", resolution.version);
    headers.append("vary", "API-Version, Accept-Version");
    const deprecation = options.deprecated?.[resolution.version];
    if (deprecation) {
      headers.set("deprecation", `@${Math.floor(deprecation.deprecatedAt.getTime() / 1000)}`);
      headers.set("sunset", deprecation.sunsetAt.toUTCString());
      const successorPath = `${options.basePath}/${deprecation.successor}${
        resolution.rest === "/" ? "" : resolution.rest
      }`;
      headers.append("link", `<${successorPath}>; rel="successor-version"`);
    }
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  };
}
