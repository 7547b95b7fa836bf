/**
 * `EdgeRuntime.waitUntil` of Supabase's edge runtime: keeps the isolate alive until background
 * work (metric flushes, audit records of refused requests, notification delivery) settles after the response is sent.
 * Absent elsewhere (Deno, tests), where such promises simply run.
 * @module
 */

/**
 * `EdgeRuntime.waitUntil` when this code runs on the edge runtime, else `undefined`.
 *
 * @example
 * ```ts
 * edgeWaitUntil()?.(flushLater());
 * ```
 */
export function edgeWaitUntil(): ((promise: Promise<unknown>) => void) | undefined {
  const runtime = (globalThis as { EdgeRuntime?: { waitUntil?: (p: Promise<unknown>) => void } })
    .EdgeRuntime;
  return typeof runtime?.waitUntil === "function"
    ? (promise) => runtime.waitUntil!(promise)
    : undefined;
}
