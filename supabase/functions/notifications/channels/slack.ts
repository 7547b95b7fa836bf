/**
 * Slack incoming webhooks: a document as Block Kit within Slack's limits (50 blocks, 3,000
 * characters a section text, 150 a header, 10 fields of 2,000, 25 buttons), cut short with a link
 * to the full text rather than refused, mrkdwn-escaped (`&`, `<`, `>`, the three characters Slack
 * asks to escape), and the plain title as the notification fallback `text`.
 * @module
 */
import type { NotificationDocument } from "../templates/document.ts";
import type { SendOutcome } from "../model.ts";
import { outcomeOfError, outcomeOfResponse } from "./outcome.ts";

/** Slack's documented limits. */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  fields: 10,
  fieldText: 2000,
  buttons: 25,
  buttonText: 75,
} as const;

/** A Block Kit block (the subset comptoir sends). */
export type SlackBlock = Record<string, unknown>;

/** The JSON body posted to the webhook. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/**
 * Escapes text for mrkdwn: `&`, `<` and `>` (so `<!channel>` or `<https://x|y>` in data stay text).
 *
 * @example
 * ```ts
 * escapeMrkdwn("a < b & c"); // "a &lt; b &amp; c"
 * ```
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(
    />/g,
    "&gt;",
  );
}

function link(url: string, label: string): string {
  // Inside <url|label> a | or > would end the link early.
  return `<${url.replace(/[|>\s]/g, encodeURIComponent)}|${escapeMrkdwn(label)}>`;
}

/** Cuts mrkdwn text to `max` characters, ending with a link to the rest when there is one. */
function fit(mrkdwn: string, max: number, moreUrl: string | undefined): string {
  if (mrkdwn.length <= max) return mrkdwn;
  const tail = moreUrl ? `… ${link(moreUrl, "more")}` : "…";
  let cut = mrkdwn.slice(0, max - tail.length);
  // Never end inside an entity (&amp;) or a half-written link.
  cut = cut.replace(/&[a-z]{0,3}$/, "").replace(/<[^>]*$/, "");
  return cut + tail;
}

function plainFit(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The Block Kit message of a document.
 *
 * @example
 * ```ts
 * const { blocks } = slackMessage({ title: "Low stock", sections: [], links: [] });
 * ```
 */
export function slackMessage(doc: NotificationDocument): SlackMessage {
  const more = doc.moreUrl;
  const blocks: SlackBlock[] = [{
    type: "header",
    text: {
      type: "plain_text",
      text: plainFit(doc.title, SLACK_LIMITS.headerText),
      emoji: false,
    },
  }];
  const section = (mrkdwn: string): SlackBlock => ({
    type: "section",
    text: { type: "mrkdwn", text: fit(mrkdwn, SLACK_LIMITS.sectionText, more) },
  });
  if (doc.intro) blocks.push(section(escapeMrkdwn(doc.intro)));
  const body: SlackBlock[] = [];
  for (const s of doc.sections) {
    const text = [
      s.heading ? `*${escapeMrkdwn(s.heading)}*` : "",
      s.text ? escapeMrkdwn(s.text) : "",
    ]
      .filter(Boolean).join("\n");
    const fields = (s.fields ?? []).slice(0, SLACK_LIMITS.fields).map((
      [label, value],
    ) => ({
      type: "mrkdwn",
      text: fit(
        `*${escapeMrkdwn(label)}*\n${escapeMrkdwn(value)}`,
        SLACK_LIMITS.fieldText,
        more,
      ),
    }));
    if (!text && fields.length === 0) continue;
    const block: SlackBlock = text ? section(text) : { type: "section" };
    if (fields.length > 0) block.fields = fields;
    body.push(block);
  }
  const tail: SlackBlock[] = [];
  if (doc.links.length > 0) {
    tail.push({
      type: "actions",
      elements: doc.links.slice(0, SLACK_LIMITS.buttons).map((l, i) => ({
        type: "button",
        action_id: `link_${i}`,
        text: {
          type: "plain_text",
          text: plainFit(l.label, SLACK_LIMITS.buttonText),
        },
        url: l.url,
      })),
    });
  }
  if (doc.footer) {
    tail.push({
      type: "context",
      elements: [{
        type: "mrkdwn",
        text: fit(escapeMrkdwn(doc.footer), SLACK_LIMITS.sectionText, more),
      }],
    });
  }
  const room = SLACK_LIMITS.blocks - blocks.length - tail.length;
  if (body.length > room) {
    const kept = body.slice(0, room - 1);
    const left = body.length - kept.length;
    const note = `${left} more not shown${more ? ` — ${link(more, "see all")}` : ""}`;
    body.splice(0, body.length, ...kept, {
      type: "context",
      elements: [{ type: "mrkdwn", text: note }],
    });
  }
  return {
    text: plainFit(escapeMrkdwn(doc.title), SLACK_LIMITS.sectionText),
    blocks: [...blocks, ...body, ...tail],
  };
}

/** Options of {@linkcode sendSlack}. */
export interface SendSlackOptions {
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Posts a message to an incoming webhook (already checked by target_url.ts).
 *
 * @example
 * ```ts
 * const outcome = await sendSlack(url, slackMessage(doc));
 * ```
 */
export async function sendSlack(
  url: URL,
  message: SlackMessage,
  { timeoutMs = 10_000, now = Date.now }: SendSlackOptions = {},
): Promise<SendOutcome> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return await outcomeOfResponse(res, now());
  } catch (error) {
    return outcomeOfError(error);
  }
}
