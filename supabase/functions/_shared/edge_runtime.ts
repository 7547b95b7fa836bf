/**
 * The Supabase edge runtime's `EdgeRuntime.waitUntil`, which keeps an isolate alive after the
 * response until background work settles. It exists only on the edge runtime (not under
 * `deno task dev`, where the process lives on anyway).
 * @module
 */

/**
 * `EdgeRuntime.waitUntil` bound to the runtime, or `undefined` where there is none.
 *
 * @example
 * ```ts
 * edgeWaitUntil()?.(flush());
 * ```
 */
export function edgeWaitUntil(): ((promise: Promise<unknown>) => void) | undefined {
  const runtime = (globalThis as { EdgeRuntime?: { waitUntil?: (p: Promise<unknown>) => void } })
    .EdgeRuntime;
  return typeof runtime?.waitUntil === "function"
    ? (promise) => runtime.waitUntil!(promise)
    : undefined;
}
