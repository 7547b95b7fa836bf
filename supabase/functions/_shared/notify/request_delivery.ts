/**
 * Asks the notifications function to deliver now, after a request queued notifications in its
 * transaction (an order's confirmation, a stock alert): one POST to
 * `${SUPABASE_URL}/functions/v1/notifications/deliver` with the service key, handed to
 * `EdgeRuntime.waitUntil` where the platform has it so the response does not wait. Best effort:
 * the notify-deliver job delivers every minute anyway, so a failure here is only logged. Nothing
 * happens where `SUPABASE_URL` or `SUPABASE_SERVICE_ROLE_KEY` is not set (tests of an app in
 * process), or when `COMPTOIR_NOTIFY_DELIVER_ON_ENQUEUE=off` (the schedule alone delivers: a shop
 * with many orders a minute saves one function call per order; tests that count a request's own
 * database round trips).
 * @module
 */
import { edgeWaitUntil } from "../runtime/wait_until.ts";

/** Options of {@linkcode requestDelivery}. */
export interface RequestDeliveryOptions {
  /** How long the call may take; delivery itself goes on in the notifications function. */
  timeoutMs?: number;
  env?: Pick<typeof Deno.env, "get">;
  fetch?: typeof fetch;
}

/**
 * Starts a delivery run in the background; returns the call's promise (never rejects), or
 * `undefined` when not configured.
 *
 * @example
 * ```ts
 * const { order } = await placeOrder(...);
 * requestDelivery();
 * ```
 */
export function requestDelivery(
  { timeoutMs = 2_000, env = Deno.env, fetch: fetcher = fetch }: RequestDeliveryOptions = {},
): Promise<void> | undefined {
  const base = env.get("SUPABASE_URL");
  const key = env.get("SUPABASE_SERVICE_ROLE_KEY");
  if (!base || !key || env.get("COMPTOIR_NOTIFY_DELIVER_ON_ENQUEUE") === "off") return undefined;
  const call = fetcher(`${base.replace(/\/$/, "")}/functions/v1/notifications/deliver`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ budget_ms: 10_000 }),
    signal: AbortSignal.timeout(timeoutMs),
  }).then(
    (res) => res.body?.cancel(),
    (error) =>
      console.warn(JSON.stringify({
        level: "warn",
        msg: "notifications: could not request delivery",
        error: error instanceof Error ? error.name : String(error),
      })),
  );
  edgeWaitUntil()?.(call);
  return call;
}
