/**
 * Subscriber webhooks signed per Standard Webhooks with the `standardwebhooks` package: headers
 * `webhook-id` (the outbox's stable message id, the same on every retry, so receivers drop
 * repeats), `webhook-timestamp` (this attempt's time, which receivers check against replays) and
 * `webhook-signature` — one `v1,…` signature per secret, space-separated, so a receiver keeps
 * verifying while a secret is rotated (the destination's secret variable then holds the new and the
 * old secret).
 * @module
 */
import { Webhook } from "standardwebhooks";
import type { SendOutcome } from "../model.ts";
import { outcomeOfError, outcomeOfResponse } from "./outcome.ts";

/** What the receiver gets as the body. */
export interface WebhookBody {
  type: string;
  timestamp: string;
  data: unknown;
}

/**
 * The Standard Webhooks headers of `body` signed with every secret of `secrets` (whitespace-separated
 * `whsec_…` values).
 *
 * @example
 * ```ts
 * const headers = signedHeaders("msg_1", new Date(), "{}", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
 * ```
 */
export function signedHeaders(
  id: string,
  at: Date,
  body: string,
  secrets: string,
): Record<string, string> {
  const keys = secrets.split(/\s+/).filter(Boolean);
  if (keys.length === 0) {
    throw new TypeError("A webhook destination needs at least one secret");
  }
  const signatures = keys.map((secret) => new Webhook(secret).sign(id, at, body));
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signatures.join(" "),
  };
}

/** Options of {@linkcode sendWebhook}. */
export interface SendWebhookOptions {
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Posts a signed event to a subscriber (URL already checked by target_url.ts).
 *
 * @example
 * ```ts
 * await sendWebhook(url, "msg_1", { type: "order.placed", timestamp: new Date().toISOString(), data: {} }, secrets);
 * ```
 */
export async function sendWebhook(
  url: URL,
  id: string,
  body: WebhookBody,
  secrets: string,
  { timeoutMs = 10_000, now = Date.now }: SendWebhookOptions = {},
): Promise<SendOutcome> {
  try {
    const text = JSON.stringify(body);
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "comptoir-webhooks/1",
        ...signedHeaders(id, new Date(now()), text, secrets),
      },
      body: text,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      // A redirect could lead anywhere, past the address check: never followed.
      return {
        kind: "permanent",
        error: `http ${res.status}: redirects are not followed`,
        status: res.status,
      };
    }
    return await outcomeOfResponse(res, now());
  } catch (error) {
    return outcomeOfError(error);
  }
}
