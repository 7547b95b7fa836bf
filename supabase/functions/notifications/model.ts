/**
 * The outbox's vocabulary as the notifications function sees it: channels, a claimed message row
 * of `notify.messages`, a destination row of `notify.destinations`, and what one send attempt
 * comes to.
 * @module
 */

/** Channels the outbox delivers to. */
export const CHANNELS = ["slack", "email", "webhook", "pagerduty"] as const;

/** One channel. */
export type Channel = typeof CHANNELS[number];

/** Languages templates are written in. */
export const LOCALES = ["en", "fr"] as const;

/** One language. */
export type Locale = typeof LOCALES[number];

/** A message as `notify.claim()` returns it. */
export interface OutboxMessage {
  id: string;
  seq: number;
  message_id: string;
  channel: Channel;
  destination: string;
  template: string;
  locale: Locale;
  payload: Record<string, unknown>;
  event: string | null;
  ordering_key: string | null;
  status: string;
  attempts: number;
  created_at: Date;
  lease_until: Date | null;
}

/** A named destination (`notify.destinations`); `config` names env variables, never secrets. */
export interface DestinationRow {
  channel: Channel;
  name: string;
  locale: Locale;
  config: Record<string, unknown>;
}

/** How one attempt ended. */
export type SendOutcome =
  | { kind: "delivered"; status?: number }
  | {
    kind: "retry";
    error: string;
    status?: number;
    /** What the receiver asked for (`Retry-After`), in ms. */
    retryAfterMs?: number;
  }
  | { kind: "permanent"; error: string; status?: number };
