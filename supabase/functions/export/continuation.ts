/**
 * Signed keyset continuation tokens of multi-page exports. A token says where the next page
 * starts (the key of the last row sent), the high-water mark the first page recorded (rows added
 * since the export started stay out), which resource and filters it belongs to (a digest of the
 * query string without `cursor`), who may use it, and until when. It is
 * `base64url(JSON) "." base64url(HMAC-SHA-256)`: the client can read it but not change it, so a
 * token never lets one caller continue another's export or move past a filter.
 *
 * The key comes from `COMPTOIR_EXPORT_SIGNING_KEY`, else `COMPTOIR_JWT_SECRET` (HMAC'd with a
 * fixed label, so a token is never a JWT signature); the function refuses to start with neither.
 * @module
 */
import { ProblemError, problems } from "../_shared/http/problem.ts";
import { realClock } from "../_shared/clock.ts";

/** What a token carries. */
export interface Continuation {
  /** Resource name. */
  resource: string;
  /** Digest of the filters (see {@linkcode filtersDigest}). */
  filters: string;
  /** The caller: their user id, or `service_role`. */
  subject: string;
  /** Key of the last row already sent. */
  after: string[];
  /** High-water mark of the first page, when the resource has one. */
  upto?: string;
  /** Number of the page the token opens (2 for the first continuation). */
  page: number;
  /** Epoch seconds after which the token is refused. */
  expiresAt: number;
}

/** How long a continuation stays valid. */
export const CONTINUATION_TTL_SECONDS = 3600;

const encoder = new TextEncoder();
let keyPromise: Promise<CryptoKey> | undefined;

/** Reads the signing secret; throws when neither variable is set. */
export function signingSecretFromEnv(
  env: Pick<typeof Deno.env, "get"> = Deno.env,
): string {
  const secret = env.get("COMPTOIR_EXPORT_SIGNING_KEY") ||
    env.get("COMPTOIR_JWT_SECRET");
  if (!secret) {
    throw new Error(
      "set COMPTOIR_EXPORT_SIGNING_KEY (or COMPTOIR_JWT_SECRET) to sign export continuations",
    );
  }
  return secret;
}

async function signingKey(): Promise<CryptoKey> {
  keyPromise ??= (async () => {
    const base = await crypto.subtle.importKey(
      "raw",
      encoder.encode(signingSecretFromEnv()),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const derived = await crypto.subtle.sign(
      "HMAC",
      base,
      encoder.encode("comptoir export v1"),
    );
    return crypto.subtle.importKey(
      "raw",
      derived,
      { name: "HMAC", hash: "SHA-256" },
      false,
      [
        "sign",
        "verify",
      ],
    );
  })();
  return await keyPromise;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(
    /=+$/,
    "",
  );
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * A digest of the query parameters that select rows, in a fixed order, so a token only continues
 * the export it was made for.
 *
 * @example
 * ```ts
 * await filtersDigest("orders", { status: "paid" });
 * ```
 */
export async function filtersDigest(
  resource: string,
  filters: Record<string, string | undefined>,
): Promise<string> {
  const canonical = JSON.stringify([
    resource,
    ...Object.keys(filters).sort().filter((k) => filters[k] !== undefined).map((
      k,
    ) => [
      k,
      filters[k],
    ]),
  ]);
  const hash = await crypto.subtle.digest("SHA-256", encoder.encode(canonical));
  return base64url(new Uint8Array(hash)).slice(0, 22);
}

/**
 * Signs a continuation.
 *
 * @example
 * ```ts
 * const token = await signContinuation({ resource: "orders", filters: "…", subject: "…",
 *   after: ["42"], page: 2, expiresAt: Date.now() / 1000 + 3600 });
 * ```
 */
export async function signContinuation(token: Continuation): Promise<string> {
  const body = base64url(encoder.encode(JSON.stringify({
    v: 1,
    r: token.resource,
    f: token.filters,
    s: token.subject,
    a: token.after,
    u: token.upto,
    p: token.page,
    x: token.expiresAt,
  })));
  const signature = await crypto.subtle.sign(
    "HMAC",
    await signingKey(),
    encoder.encode(body),
  );
  return `${body}.${base64url(new Uint8Array(signature))}`;
}

const malformed = () =>
  new ProblemError(
    problems.badRequest("Malformed cursor", {
      type: "invalid-request",
      title: "Invalid request",
      errors: [{
        in: "query",
        pointer: "/cursor",
        detail: "Malformed cursor",
        code: "custom",
      }],
    }),
  );

/**
 * Checks a token's signature and that it belongs to this export and caller; answers 400 problems
 * for anything else (a tampered, foreign, expired or mismatched token).
 *
 * @example
 * ```ts
 * const next = await verifyContinuation(query.cursor, { resource: "orders", filters, subject });
 * ```
 */
export async function verifyContinuation(
  token: string,
  expected: {
    resource: string;
    filters: string;
    subject: string;
    keyParts: number;
  },
  now: () => number = () => realClock.now(),
): Promise<Continuation> {
  const dot = token.indexOf(".");
  if (dot < 1 || token.length > 2000) throw malformed();
  const body = token.slice(0, dot);
  let valid = false;
  try {
    valid = await crypto.subtle.verify(
      "HMAC",
      await signingKey(),
      fromBase64url(token.slice(dot + 1)),
      encoder.encode(body),
    );
  } catch {
    valid = false;
  }
  if (!valid) throw malformed();
  const doc = JSON.parse(new TextDecoder().decode(fromBase64url(body)));
  if (
    doc.v !== 1 || doc.r !== expected.resource || doc.f !== expected.filters ||
    doc.s !== expected.subject || !Array.isArray(doc.a) ||
    doc.a.length !== expected.keyParts ||
    !Number.isInteger(doc.p)
  ) {
    throw new ProblemError(
      problems.badRequest(
        "The cursor belongs to another export; start again without it",
      ),
    );
  }
  if (typeof doc.x !== "number" || doc.x * 1000 < now()) {
    throw new ProblemError(
      problems.badRequest("The cursor has expired; start the export again"),
    );
  }
  return {
    resource: doc.r,
    filters: doc.f,
    subject: doc.s,
    after: doc.a.map(String),
    upto: doc.u === undefined ? undefined : String(doc.u),
    page: doc.p,
    expiresAt: doc.x,
  };
}
