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
 *
 * It is configured once, in the function's Hono app ({@linkcode apiVersioning}): Hono's `getPath`
 * option routes the request to its versioned path without copying the Request, one middleware
 * adds the version headers to the response the app builds, and an unknown version is a route of
 * the app (`/<base>/unsupported-version`), so its 400 passes through the same metrics, security
 * headers and request id as every other answer.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { getPath as honoGetPath } from "hono/utils/url";
import { problem, problemResponse } from "./problem.ts";

/** A deprecated version's schedule. */
export interface Deprecation {
  /** When the version was deprecated. */
  deprecatedAt: Date;
  /** When it stops being served. */
  sunsetAt: Date;
  /** Version that replaces it. */
  successor: string;
}

/** Options of {@linkcode apiVersioning}. */
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

/** The versioning of one app: its `getPath`, its middleware and its unknown-version route. */
export interface ApiVersioning {
  /** Hono's `getPath` option: the versioned path a request is routed to. */
  getPath(request: Request): string;
  /** Adds `API-Version`, `Vary` and the deprecation headers to every versioned response. */
  middleware: MiddlewareHandler;
  /** Path (under the app's base path) of the route answering an unknown version. */
  unsupportedPath: string;
  /** The 400 problem for an unknown version (the unknown-version route's handler). */
  unsupported(c: Context): Response;
}

const UNSUPPORTED = "/unsupported-version";

/**
 * The versioning of an app whose routes live under `<basePath>/<version>/…`.
 *
 * @example
 * ```ts
 * const versioning = apiVersioning({ basePath: "/api", supported: ["v1", "v2"], defaultVersion: "v1" });
 * const app = createFunctionApp("api", { getPath: versioning.getPath });
 * app.use(versioning.middleware);
 * app.all(versioning.unsupportedPath, versioning.unsupported);
 * ```
 */
export function apiVersioning(options: VersioningOptions): ApiVersioning {
  const { basePath, supported, defaultVersion, deprecated = {}, unversioned = [] } = options;
  const versioned = new RegExp(`^${basePath}/(v\\d+)(/.*)?$`);
  const unversionedPaths = new Set(unversioned);
  const headerVersion = (raw: string | null) =>
    raw === null || raw.trim() === "" ? undefined : normalise(raw);

  function getPath(request: Request): string {
    const path = honoGetPath(request);
    if (
      request.method === "OPTIONS" || unversionedPaths.has(path) ||
      (path !== basePath && !path.startsWith(basePath + "/"))
    ) {
      return path;
    }
    const after = path.slice(basePath.length) || "/";
    const inPath = PATH_VERSION.exec(after);
    let version = inPath?.[1] ?? headerVersion(request.headers.get("api-version")) ??
      headerVersion(request.headers.get("accept-version"));
    if (version === undefined) {
      const query = request.url.indexOf("?");
      const raw = query < 0 || !request.url.includes("api-version", query)
        ? null
        : new URLSearchParams(request.url.slice(query + 1)).get("api-version");
      version = headerVersion(raw) ?? defaultVersion;
    }
    if (!supported.includes(version)) return basePath + UNSUPPORTED;
    const rest = inPath ? inPath[2] ?? "" : after === "/" ? "" : after;
    return `${basePath}/${version}${rest}`;
  }

  const middleware: MiddlewareHandler = async function versionHeaders(c, next) {
    await next();
    const match = versioned.exec(c.req.path);
    if (!match) return;
    const version = match[1];
    c.header("api-version", version);
    c.header("vary", "API-Version, Accept-Version", { append: true });
    const deprecation = deprecated[version];
    if (deprecation) {
      c.header("deprecation", `@${Math.floor(deprecation.deprecatedAt.getTime() / 1000)}`);
      c.header("sunset", deprecation.sunsetAt.toUTCString());
      c.header(
        "link",
        `<${basePath}/${deprecation.successor}${match[2] ?? ""}>; rel="successor-version"`,
        { append: true },
      );
    }
  };

  return {
    getPath,
    middleware,
    unsupportedPath: UNSUPPORTED,
    unsupported(c) {
      const resolution = resolveVersion(c.req.raw, options);
      const requested = resolution.ok ? resolution.version : resolution.requested;
      const source = resolution.ok ? resolution.source : resolution.source;
      return problemResponse(problem(
        "unsupported-api-version",
        `API version ${requested} (from ${source}) is not supported; ` +
          `use one of ${supported.join(", ")}`,
        { supported_versions: [...supported], instance: new URL(c.req.url).pathname },
      ));
    },
  };
}
