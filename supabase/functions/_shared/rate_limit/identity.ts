/**
 * Who a request counts against: the user (JWT `sub`, verified by the caller's auth), the API key
 * (hashed, so raw keys never reach Redis or Postgres), or the client address.
 *
 * The client address is the TCP peer when the function is reached directly, or the entry the
 * outermost trusted proxy appended to `X-Forwarded-For` when proxies sit in front of it. Nothing
 * else: anybody can send `X-Forwarded-For` or `X-Real-IP`, and believing an entry the client
 * wrote lets it pick a fresh identity per request (or somebody else's). An address that cannot be
 * known (no peer, a missing or malformed hop) is `null`, which the limiter counts in a small
 * bucket of its own (see {@linkcode unknownIdentityKey}).
 * @module
 */
import type { IdentityKind } from "./types.ts";

/** Options of {@linkcode clientAddress}. */
export interface ClientAddressOptions {
  /**
   * Number of proxies in front of the function that append to `X-Forwarded-For` and can be
   * trusted (0: trust none, use the connection address).
   */
  trustedProxies?: number;
  /** Address of the TCP peer, as the server saw it. */
  connectionAddress?: string | null;
}

/**
 * The client address of a request.
 *
 * With `trustedProxies = n`, the address is the n-th entry from the right of `X-Forwarded-For`:
 * each trusted proxy appended the address it was reached from, so entries further left were sent
 * by the client and prove nothing. Fewer than n entries, or a hop that is not an IP address, is
 * `null`: falling back to another entry or header would hand the choice to the client. With
 * `trustedProxies = 0` it is the connection address. IPv6 addresses are reduced to their /64
 * network, the unit a single subscriber usually holds.
 *
 * @example
 * ```ts
 * const headers = new Headers({ "x-forwarded-for": "6.6.6.6, 203.0.113.7" });
 * clientAddress(headers, { trustedProxies: 1 }); // "203.0.113.7"
 * clientAddress(headers, { connectionAddress: "10.0.0.2" }); // "10.0.0.2"
 * clientAddress(new Headers({ "x-real-ip": "6.6.6.6" }), { trustedProxies: 1 }); // null
 * ```
 */
export function clientAddress(
  headers: Headers,
  { trustedProxies = 0, connectionAddress = null }: ClientAddressOptions = {},
): string | null {
  if (trustedProxies > 0) {
    // Several X-Forwarded-For fields are one list (RFC 9110 §5.3); Headers joins them with ", ".
    const forwarded = (headers.get("x-forwarded-for") ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== "");
    if (forwarded.length < trustedProxies) return null;
    return normalizeAddress(forwarded[forwarded.length - trustedProxies]);
  }
  return connectionAddress ? normalizeAddress(connectionAddress) : null;
}

/**
 * Canonical form of an address: port and brackets removed, IPv4-mapped IPv6 unwrapped, IPv6
 * reduced to its /64 prefix; `null` when it is not an IP address.
 *
 * @example
 * ```ts
 * normalizeAddress("[2001:db8::1]:443"); // "2001:db8:0:0::/64"
 * ```
 */
export function normalizeAddress(raw: string): string | null {
  let value = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) value = bracketed[1];
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d+)?$/.exec(value);
  if (v4WithPort) return isIpv4(v4WithPort[1]) ? v4WithPort[1] : null;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  if (mapped) return isIpv4(mapped[1]) ? mapped[1] : null;
  const groups = expandIpv6(value);
  if (!groups) return null;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

function isIpv4(value: string): boolean {
  return value.split(".").every((octet) => Number(octet) <= 255);
}

function expandIpv6(value: string): number[] | null {
  const zoneless = value.split("%")[0].toLowerCase();
  if (!/^[0-9a-f:]+$/.test(zoneless) || !zoneless.includes(":")) return null;
  const halves = zoneless.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => part === "" ? [] : part.split(":");
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (all.some((g) => g.length === 0 || g.length > 4)) return null;
  return all.map((g) => parseInt(g, 16));
}

/**
 * SHA-256 of an API key, hex, truncated to 32 characters (128 bits: collision-free in practice,
 * shorter keys in the store).
 *
 * @example
 * ```ts
 * await hashApiKey("sk_live_123"); // 32 hex characters
 * ```
 */
export async function hashApiKey(apiKey: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(apiKey));
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("")
    .slice(0, 32);
}

/**
 * The counter key of a known identity: kind plus value, so a user id can never collide with an IP.
 *
 * @example
 * ```ts
 * identityKey("user", "3f1c…"); // "user:3f1c…"
 * ```
 */
export function identityKey(kind: IdentityKind, value: string): string {
  return `${kind}:${value}`;
}

/**
 * The counter key of every request whose identity of `kind` cannot be known. Its first part is
 * not a kind, so no known identity ever shares it; the limiter gives it a small limit
 * ({@linkcode UNKNOWN_IDENTITY_SHARE}), so requests nobody can tell apart neither get unlimited
 * requests nor use up the counter of a client that is known.
 *
 * @example
 * ```ts
 * unknownIdentityKey("ip"); // "unknown:ip"
 * ```
 */
export function unknownIdentityKey(kind: IdentityKind): string {
  return `unknown:${kind}`;
}

/**
 * Share of a policy's limit that all requests of unknown identity get together (at least 1):
 * 600 a minute per known address is 30 a minute for every unknown one at once.
 */
export const UNKNOWN_IDENTITY_SHARE = 1 / 20;
