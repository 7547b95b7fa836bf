/**
 * Access tokens whose signature has been verified, kept by their exact text until they expire, so
 * a client that sends the same token on every request (supabase-js does, for up to an hour) costs
 * one HMAC or signature check, not one per request: verification was the gateway's largest CPU cost
 * under load (docs/benchmarks/api.md, profile before). The key is the whole token, signature
 * included, so only the very bytes that were verified hit; an entry is dropped at the token's
 * `exp`, after which the token is verified (and refused) again. Bounded: the least recently used
 * entry goes first. Hand-written: a Map in insertion order is the whole LRU, and every function
 * bundle carries it.
 * @module
 */
import type { JWTPayload } from "jose";

/** Options of {@linkcode VerifiedTokens}. */
export interface VerifiedTokensOptions {
  /** Most tokens kept. Default 1,000. */
  max?: number;
}

/**
 * A bounded cache of verified token payloads.
 *
 * @example
 * ```ts
 * const tokens = new VerifiedTokens();
 * const payload = tokens.get(token) ?? tokens.remember(token, await verify(token));
 * ```
 */
export class VerifiedTokens {
  readonly #max: number;
  readonly #entries = new Map<string, { payload: JWTPayload; expiresAtMs: number }>();

  constructor({ max = 1000 }: VerifiedTokensOptions = {}) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be positive, got ${max}`);
    this.#max = max;
  }

  /** The payload of `token` if it was verified and has not expired. */
  get(token: string, nowMs: number = Date.now()): JWTPayload | undefined {
    const entry = this.#entries.get(token);
    if (!entry) return undefined;
    this.#entries.delete(token);
    if (entry.expiresAtMs <= nowMs) return undefined;
    this.#entries.set(token, entry);
    return entry.payload;
  }

  /** Keeps the payload of a token just verified (one without `exp` is not kept); returns it. */
  remember(token: string, payload: JWTPayload, nowMs: number = Date.now()): JWTPayload {
    const expiresAtMs = typeof payload.exp === "number" ? payload.exp * 1000 : 0;
    if (expiresAtMs > nowMs) {
      this.#entries.delete(token);
      this.#entries.set(token, { payload, expiresAtMs });
      if (this.#entries.size > this.#max) {
        this.#entries.delete(this.#entries.keys().next().value!);
      }
    }
    return payload;
  }

  /** Tokens kept. */
  get size(): number {
    return this.#entries.size;
  }

  /** Forgets every token. */
  clear(): void {
    this.#entries.clear();
  }
}
