/**
 * PagerDuty Events API v2: a trigger for a firing alert group, a resolve when it resolves, both
 * with `dedup_key` = the fingerprint of the group's first alert, so PagerDuty folds repeats and
 * retries into one incident. Success is 202.
 * @module
 */
import type { NotificationDocument, PagerDutyEvent } from "../templates/document.ts";
import type { SendOutcome } from "../model.ts";
import { outcomeOfError, outcomeOfResponse } from "./outcome.ts";

/** The public Events API v2 endpoint. */
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

/** PagerDuty's limit on `payload.summary`. */
const SUMMARY_MAX = 1024;

/**
 * The Events API v2 body.
 *
 * @example
 * ```ts
 * pagerDutyBody("R0UT1NGK3Y", { action: "trigger", dedupKey: "8f3c2a1b9d0e4f56", source: "comptoir" }, doc);
 * ```
 */
export function pagerDutyBody(
  routingKey: string,
  event: PagerDutyEvent,
  doc: NotificationDocument,
  payload: unknown = undefined,
): Record<string, unknown> {
  if (event.action === "resolve") {
    return {
      routing_key: routingKey,
      event_action: "resolve",
      dedup_key: event.dedupKey,
    };
  }
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: event.dedupKey,
    payload: {
      summary: doc.title.length > SUMMARY_MAX
        ? `${doc.title.slice(0, SUMMARY_MAX - 1)}…`
        : doc.title,
      source: event.source,
      severity: doc.severity ?? "warning",
      custom_details: payload,
    },
    links: doc.links.map((l) => ({ href: l.url, text: l.label })),
  };
}

/** Options of {@linkcode sendPagerDuty}. */
export interface SendPagerDutyOptions {
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Posts one event (URL already checked by target_url.ts).
 *
 * @example
 * ```ts
 * await sendPagerDuty(new URL(PAGERDUTY_EVENTS_URL), body);
 * ```
 */
export async function sendPagerDuty(
  url: URL,
  body: Record<string, unknown>,
  { timeoutMs = 10_000, now = Date.now }: SendPagerDutyOptions = {},
): Promise<SendOutcome> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return await outcomeOfResponse(res, now());
  } catch (error) {
    return outcomeOfError(error);
  }
}
