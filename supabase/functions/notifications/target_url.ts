/**
 * Checks an outbound URL before anything is sent to it (server-side request forgery): https only,
 * and no loopback, private or link-local address unless the destination's configuration allows
 * that kind (`allow_private_networks`; plain http is then accepted for it too, as local test
 * receivers need). Host names are resolved and every address must pass. A name that resolves to
 * an allowed address now may resolve elsewhere a moment later (DNS rebinding); the check narrows
 * the window, it does not pin the address, since fetch() offers no way to.
 * @module
 */
import type { PRIVATE_NETWORKS } from "./config.ts";

/** A kind of address refused by default. */
export type NetworkKind = typeof PRIVATE_NETWORKS[number];

/** The URL may not be used; permanent for the message. */
export class TargetNotAllowedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TargetNotAllowedError";
  }
}

/** Resolves a host name to its addresses (Deno.resolveDns by default). */
export type Resolver = (host: string) => Promise<string[]>;

/** Options of {@linkcode checkTargetUrl}. */
export interface CheckTargetOptions {
  allow?: readonly NetworkKind[];
  resolve?: Resolver;
}

/**
 * The kind of a literal IPv4 or IPv6 address; `public` for the rest, `undefined` when `value` is
 * not an address.
 *
 * @example
 * ```ts
 * addressKind("10.1.2.3"); // "private"
 * addressKind("::1"); // "loopback"
 * ```
 */
export function addressKind(value: string): NetworkKind | "public" | undefined {
  const v4 = parseIPv4(value);
  if (v4) return ipv4Kind(v4);
  const v6 = parseIPv6(value);
  if (!v6) return undefined;
  if (v6.every((g, i) => i === 7 ? g === 1 : g === 0)) return "loopback";
  if (v6.every((g) => g === 0)) return "private";
  // ::ffff:a.b.c.d, an IPv4 address in IPv6 clothing.
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return ipv4Kind([v6[6] >> 8, v6[6] & 255, v6[7] >> 8, v6[7] & 255]);
  }
  if ((v6[0] & 0xfe00) === 0xfc00) return "private";
  if ((v6[0] & 0xffc0) === 0xfe80) return "link_local";
  if ((v6[0] & 0xff00) === 0xff00) return "private";
  return "public";
}

/**
 * Throws {@linkcode TargetNotAllowedError} unless `raw` may be sent to; returns the parsed URL.
 *
 * @example
 * ```ts
 * await checkTargetUrl("https://hooks.slack.com/services/T/B/X");
 * await checkTargetUrl("http://127.0.0.1:8080/hook", { allow: ["loopback"] });
 * ```
 */
export async function checkTargetUrl(
  raw: string,
  { allow = [], resolve = resolveDns }: CheckTargetOptions = {},
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetNotAllowedError("target is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TargetNotAllowedError(
      `target scheme ${url.protocol} is not allowed`,
    );
  }
  if (url.username || url.password) {
    throw new TargetNotAllowedError("target URL must not carry credentials");
  }
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  let kinds: (NetworkKind | "public")[];
  const literal = addressKind(host);
  if (literal) {
    kinds = [literal];
  } else if (host === "localhost" || host.endsWith(".localhost")) {
    kinds = ["loopback"];
  } else {
    let addresses: string[];
    try {
      addresses = await resolve(host);
    } catch {
      // Unknown name or no resolver here: fetch() will fail on its own (retried), and nothing
      // private could be reached through a name that does not resolve.
      addresses = [];
    }
    kinds = addresses.map((a) => addressKind(a) ?? "private");
    if (kinds.length === 0) kinds = ["public"];
  }
  for (const kind of kinds) {
    if (kind !== "public" && !allow.includes(kind)) {
      throw new TargetNotAllowedError(
        `target resolves to a ${
          kind.replace("_", "-")
        } address; allow_private_networks does not allow it`,
      );
    }
  }
  if (url.protocol === "http:" && kinds.every((k) => k === "public")) {
    throw new TargetNotAllowedError("target must use https");
  }
  return url;
}

async function resolveDns(host: string): Promise<string[]> {
  const resolver = (Deno as { resolveDns?: typeof Deno.resolveDns }).resolveDns;
  if (typeof resolver !== "function") return [];
  const results = await Promise.allSettled([
    resolver(host, "A"),
    resolver(host, "AAAA"),
  ]);
  return results.flatMap((r) => r.status === "fulfilled" ? r.value : []);
}

function ipv4Kind([a, b]: number[]): NetworkKind | "public" {
  if (a === 127) return "loopback";
  if (a === 169 && b === 254) return "link_local";
  if (
    a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) || a >= 224
  ) {
    return "private";
  }
  return "public";
}

function parseIPv4(value: string): number[] | undefined {
  const parts = value.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) {
    return undefined;
  }
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function parseIPv6(value: string): number[] | undefined {
  if (!value.includes(":") || !/^[0-9a-f:.]+$/i.test(value)) return undefined;
  let text = value;
  // A trailing dotted quad (::ffff:192.0.2.1) is two groups written in decimal.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(value);
  if (dotted) {
    const v4 = parseIPv4(dotted[2]);
    if (!v4) return undefined;
    text = `${dotted[1]}${((v4[0] << 8) | v4[1]).toString(16)}:${
      ((v4[2] << 8) | v4[3]).toString(16)
    }`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => s === "" ? [] : s.split(":");
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/i.test(g))) {
    return undefined;
  }
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const zeros = new Array<number>(8 - known).fill(0);
  return [...head, ...zeros.map(String), ...rest].map((g) => parseInt(String(g), 16));
}
