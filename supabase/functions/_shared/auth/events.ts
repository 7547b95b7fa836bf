/**
 * What authentication reports as it works: a credential evaluated, a request refused. The auth
 * code publishes; whoever cares subscribes (the HTTP metrics, installed by `createFunctionApp`),
 * so authentication depends on no metrics module.
 * @module
 */

/** One authentication event. */
export type AuthEvent =
  /** Credentials of `method` (`jwt`, `api_key`) were evaluated. */
  | { kind: "attempt"; method: string }
  /** A request was refused (401 reasons, or `insufficient_role` / `missing_credentials`). */
  | { kind: "failure"; method: string; reason: string };

const listeners = new Set<(event: AuthEvent) => void>();

/**
 * Calls `listener` with every later event; returns the function that stops it.
 *
 * @example
 * ```ts
 * const stop = subscribeAuthEvents((e) => console.log(e.kind));
 * ```
 */
export function subscribeAuthEvents(listener: (event: AuthEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Publishes `event` to the subscribers; a failing subscriber never fails the request.
 *
 * @example
 * ```ts
 * publishAuthEvent({ kind: "failure", method: "jwt", reason: "expired" });
 * ```
 */
export function publishAuthEvent(event: AuthEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // Observation only.
    }
  }
}
