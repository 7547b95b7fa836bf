/**
 * The local API gateway: serves every function at `/functions/v1/<name>/…` the way
 * `supabase functions serve` does — the function sees `/<name>/…`, OPTIONS preflights reach the
 * function without a JWT, `verify_jwt` functions get 401 problem+json for a missing, expired,
 * tampered or unsigned (`alg: none`) token or one whose claims do not hold (see
 * `_shared/auth/token_claims.ts`) — plus a request id, `X-Content-Type-Options: nosniff` on every
 * answer, and one access-log line per request. The function's fetch gets Deno.serve's connection
 * info as its second argument, exactly as `Deno.serve(app.fetch)` would give it, so per-address
 * rate limits see the real peer. Other services mount under their own prefix (`routes`: the local
 * Auth at `/auth/v1`) and see the request unchanged.
 * Hand-written because the edge runtime needs Docker; functions run in this process.
 * @module
 */
import { jwtVerify } from "jose";
import { problemResponse, problems } from "../../supabase/functions/_shared/http/problem.ts";
import { tokenClaimsProblem } from "../../supabase/functions/_shared/auth/token_claims.ts";
import { VerifiedTokens } from "../../supabase/functions/_shared/auth/verified_tokens.ts";
import {
  enableTestFaults,
  FAULT_ENV,
} from "../../supabase/functions/_shared/metrics/fault_switch.ts";
import { type FunctionEntry, readFunctions } from "./functions_config.ts";

/** A function's fetch handler (its Hono app's `fetch`), called as Deno.serve calls it. */
export type FetchHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo<Deno.NetAddr>,
) => Response | Promise<Response>;

/** Options of {@linkcode startGateway}. */
export interface GatewayOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** Hostname to bind. */
  hostname?: string;
  /** HS256 secret that verifies callers' JWTs. */
  jwtSecret: string;
  /** Functions to serve; read from supabase/config.toml by default. */
  functions?: FunctionEntry[];
  /** Write one JSON access-log line per request. */
  accessLog?: boolean;
  /** Other services under their own path prefix (e.g. the local Auth at `/auth/v1`). */
  routes?: GatewayRoute[];
}

/** A service the gateway serves under `prefix` (the path it sees is unchanged). */
export interface GatewayRoute {
  /** Path prefix, e.g. `/auth/v1`. */
  prefix: string;
  fetch: FetchHandler;
}

/** A running gateway. */
export interface Gateway {
  /** Base URL, e.g. http://127.0.0.1:54321. */
  url: string;
  port: number;
  functions: FunctionEntry[];
  /** Stops accepting requests and waits for those in flight. */
  shutdown(): Promise<void>;
}

const PREFIX = "/functions/v1/";

/**
 * Starts the gateway.
 *
 * @example
 * ```ts
 * const gateway = await startGateway({ port: 54321, jwtSecret: localJwtSecret() });
 * await fetch(`${gateway.url}/functions/v1/health`);
 * await gateway.shutdown();
 * ```
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const {
    port = 54321,
    hostname = "127.0.0.1",
    jwtSecret,
    accessLog = true,
    routes = [],
  } = options;
  const functions = options.functions ?? await readFunctions();
  const secret = new TextEncoder().encode(jwtSecret);
  // Test-only: `x-comptoir-fault: 500` answers a 500 problem counted as the route's 5xx.
  if (Deno.env.get(FAULT_ENV) === "1") enableTestFaults();
  const handlers = new Map<string, { entry: FunctionEntry; fetch: FetchHandler }>();
  for (const entry of functions) {
    const mod = await import(entry.appModule.href);
    const app = mod.default as { fetch: FetchHandler };
    handlers.set(entry.name, { entry, fetch: (req, info) => app.fetch(req, info) });
  }

  async function handle(
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    requestId: string,
  ): Promise<Response> {
    const url = new URL(request.url);
    const route = routes.find(({ prefix }) =>
      url.pathname === prefix || url.pathname.startsWith(prefix + "/")
    );
    if (route) {
      return await callHandler(route.fetch, request, info, {
        msg: "route crashed",
        prefix: route.prefix,
      });
    }
    if (!url.pathname.startsWith(PREFIX)) {
      return problemResponse(problems.notFound(`No route for ${url.pathname}`));
    }
    const rest = url.pathname.slice(PREFIX.length);
    const name = rest.split("/")[0];
    const target = handlers.get(name);
    if (!target) {
      return problemResponse(problems.notFound(`Function ${name || "(none)"} not found`));
    }

    if (target.entry.verifyJwt && request.method !== "OPTIONS") {
      const failure = await verifyBearer(request.headers.get("authorization"), secret);
      if (failure) return problemResponse(problems.unauthorized(failure));
    }

    // One new Request: the path the function sees, the request id, the body stream passed through.
    // A client that disconnects reaches the function through its response: Deno.serve cancels the
    // body stream the function returned (the export function cancels its query then).
    url.pathname = "/" + rest;
    const headers = new Headers(request.headers);
    headers.set("x-request-id", requestId);
    const forwarded = new Request(url, {
      method: request.method,
      headers,
      body: request.body,
      redirect: "manual",
    });
    return await callHandler(target.fetch, forwarded, info, {
      msg: "function crashed",
      function: name,
    });
  }

  /** Calls a handler; what it throws is logged and answered 500, the server keeps serving. */
  async function callHandler(
    handler: FetchHandler,
    request: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    about: Record<string, string>,
  ): Promise<Response> {
    try {
      return await handler(request, info);
    } catch (err) {
      console.error(JSON.stringify({
        level: "error",
        ...about,
        error: err instanceof Error ? err.message : String(err),
      }));
      return problemResponse(problems.internal());
    }
  }

  const server = Deno.serve({ port, hostname, onListen: () => {} }, async (request, info) => {
    const started = performance.now();
    const requestId = request.headers.get("x-request-id") ?? crypto.randomUUID();
    let response = await handle(request, info as Deno.ServeHandlerInfo<Deno.NetAddr>, requestId);
    if (
      !response.headers.has("x-request-id") ||
      response.headers.get("x-content-type-options") !== "nosniff"
    ) {
      // Responses passed through from fetch() have immutable headers: copy them.
      response = new Response(response.body, response);
      if (!response.headers.has("x-request-id")) response.headers.set("x-request-id", requestId);
      response.headers.set("x-content-type-options", "nosniff");
    }
    if (accessLog) {
      const path = new URL(request.url).pathname;
      console.log(JSON.stringify({
        level: "info",
        msg: "request",
        method: request.method,
        path,
        status: response.status,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
        request_id: requestId,
      }));
    }
    return response;
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://${addr.hostname}:${addr.port}`,
    port: addr.port,
    functions,
    shutdown: () => server.shutdown(),
  };
}

/** Tokens the gateway has verified: one HMAC per token, not per request. */
const verified = new VerifiedTokens();

/** Returns why the bearer token is refused, or undefined when it verifies. */
async function verifyBearer(
  authorization: string | null,
  secret: Uint8Array,
): Promise<string | undefined> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!match) return "Missing authorization header with a Bearer token";
  try {
    // Only HS256 is accepted: this refuses `alg: none` and algorithm-confusion tokens.
    const payload = verified.get(match[1]) ??
      verified.remember(
        match[1],
        (await jwtVerify(match[1], secret, { algorithms: ["HS256"] })).payload,
      );
    return tokenClaimsProblem(payload);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ERR_JWT_EXPIRED") return "JWT has expired";
    if (code === "ERR_JWS_SIGNATURE_VERIFICATION_FAILED") return "JWT signature is invalid";
    if (code === "ERR_JOSE_ALG_NOT_ALLOWED") return "JWT algorithm is not allowed";
    return "JWT is invalid";
  }
}
