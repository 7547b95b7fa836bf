/**
 * What a template renders: a channel-neutral document of plain text. Each channel formats it
 * (Slack Block Kit with mrkdwn escaping, HTML and plain-text email, a PagerDuty summary), so
 * escaping is done once per channel and never by a template.
 * @module
 */
import type { z } from "zod";
import type { Channel, Locale } from "../model.ts";

/** A labelled value shown as a field (Slack section fields, an email table row). */
export type Field = readonly [label: string, value: string];

/** One block of the document. */
export interface Section {
  heading?: string;
  /** Plain text; may hold several lines. */
  text?: string;
  fields?: readonly Field[];
}

/** A link shown as a button or an anchor. */
export interface Link {
  label: string;
  url: string;
}

/** PagerDuty's severities (Events API v2). */
export type Severity = "critical" | "error" | "warning" | "info";

/** A rendered notification, all plain text. */
export interface NotificationDocument {
  /** Email subject, Slack header and fallback text, PagerDuty summary. */
  title: string;
  intro?: string;
  sections: readonly Section[];
  links: readonly Link[];
  footer?: string;
  severity?: Severity;
  /** Where the full text can be read when a channel has to cut it short. */
  moreUrl?: string;
}

/** What PagerDuty needs beyond the document: trigger or resolve, and the dedup key. */
export interface PagerDutyEvent {
  action: "trigger" | "resolve";
  dedupKey: string;
  source: string;
}

/** One template: the channels it supports, the payload it needs, and how it renders. */
export interface Template<P = unknown> {
  readonly name: string;
  readonly description: string;
  readonly channels: readonly Channel[];
  /** Top-level payload keys checked by `notify.enqueue()` (the schema checks the rest). */
  readonly required: readonly string[];
  readonly schema: z.ZodType<P>;
  /** A realistic payload for `deno task notify:preview` and the tests. */
  readonly sample: unknown;
  render(payload: P, locale: Locale): NotificationDocument;
  /** Only for templates with a `pagerduty` channel. */
  pagerduty?(payload: P): PagerDutyEvent;
}
