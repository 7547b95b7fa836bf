/**
 * Email through Resend with the `resend` SDK: an HTML part (every value HTML-escaped) and a
 * plain-text part of the same document, the outbox message id as Resend's `Idempotency-Key` so a
 * retried send is not sent twice, and batch sends (`/emails/batch`, up to 100) for messages on
 * their first attempt. A batch is all or nothing (strict validation): when Resend refuses one for
 * good, its messages are sent one by one so only the bad one fails. A batch whose answer is lost
 * (timeout) is retried one by one under each message's own key, which Resend has not seen: that
 * one case can send an email twice, the price of batching.
 *
 * The SDK takes its base URL from `RESEND_BASE_URL` (tests point it at a local recording server)
 * and its key from `RESEND_API_KEY`. It never throws for an HTTP failure: it answers
 * `{ error: { statusCode, name, message }, headers }`, with `statusCode: null` when the request
 * failed before any answer; a JSON error body without `statusCode` loses the status, so the
 * error's `name` is mapped back to it.
 * @module
 */
import { Resend } from "resend";
import type { NotificationDocument } from "../templates/document.ts";
import type { SendOutcome } from "../model.ts";
import { classify } from "../../_shared/resilience/classify.ts";
import { parseRetryAfter } from "../../_shared/resilience/retry_after.ts";

/** Resend's limit of emails per batch call. */
export const RESEND_BATCH_MAX = 100;

/** One email. */
export interface EmailMessage {
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML content and attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<a href="x">'); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

function paragraphs(text: string): string {
  return escapeHtml(text).replace(/\n/g, "<br>");
}

/**
 * The HTML and plain-text parts of a document.
 *
 * @example
 * ```ts
 * const { subject, html, text } = emailParts({ title: "Hi", sections: [], links: [] });
 * ```
 */
export function emailParts(
  doc: NotificationDocument,
): Pick<EmailMessage, "subject" | "html" | "text"> {
  const html: string[] = [
    '<!doctype html><html><body style="font-family:sans-serif;color:#222;max-width:640px">',
    `<h1 style="font-size:20px">${escapeHtml(doc.title)}</h1>`,
  ];
  const text: string[] = [
    doc.title,
    "=".repeat(Math.min(doc.title.length, 72)),
    "",
  ];
  if (doc.intro) {
    html.push(`<p>${paragraphs(doc.intro)}</p>`);
    text.push(doc.intro, "");
  }
  for (const s of doc.sections) {
    if (s.heading) {
      html.push(`<h2 style="font-size:16px">${escapeHtml(s.heading)}</h2>`);
      text.push(s.heading, "-".repeat(Math.min(s.heading.length, 72)));
    }
    if (s.text) {
      html.push(`<p>${paragraphs(s.text)}</p>`);
      text.push(s.text);
    }
    if (s.fields && s.fields.length > 0) {
      html.push('<table style="border-collapse:collapse">');
      for (const [label, value] of s.fields) {
        html.push(
          `<tr><th style="text-align:left;padding:2px 12px 2px 0">${escapeHtml(label)}</th>` +
            `<td>${escapeHtml(value)}</td></tr>`,
        );
        text.push(`${label}: ${value}`);
      }
      html.push("</table>");
    }
    text.push("");
  }
  if (doc.links.length > 0) {
    html.push(
      `<p>${
        doc.links.map((l) => `<a href="${escapeHtml(l.url)}">${escapeHtml(l.label)}</a>`).join(
          " · ",
        )
      }</p>`,
    );
    for (const l of doc.links) text.push(`${l.label}: ${l.url}`);
    text.push("");
  }
  if (doc.footer) {
    html.push(
      `<p style="color:#666;font-size:13px">${paragraphs(doc.footer)}</p>`,
    );
    text.push(doc.footer);
  }
  html.push("</body></html>");
  return {
    subject: doc.title,
    html: html.join("\n"),
    text: text.join("\n").trimEnd() + "\n",
  };
}

/** Resend error names and the status they stand for (resend.com/docs/api-reference/errors). */
const STATUS_OF_NAME: Record<string, number> = {
  validation_error: 422,
  missing_required_field: 422,
  invalid_idempotency_key: 400,
  invalid_idempotent_request: 409,
  concurrent_idempotent_requests: 409,
  invalid_parameter: 422,
  missing_api_key: 401,
  restricted_api_key: 401,
  invalid_api_key: 403,
  invalid_from_address: 422,
  not_found: 404,
  method_not_allowed: 405,
  rate_limit_exceeded: 429,
  daily_quota_exceeded: 429,
  monthly_quota_exceeded: 429,
  security_error: 451,
  application_error: 500,
  internal_server_error: 500,
};

interface ResendAnswer {
  error: { statusCode?: number | null; name?: string; message?: string } | null;
  headers: Record<string, string> | null;
}

/**
 * What a Resend SDK answer means for the message(s) it carried.
 *
 * @example
 * ```ts
 * outcomeOfResend(await resend.emails.send(email, { idempotencyKey: id }), Date.now());
 * ```
 */
export function outcomeOfResend(
  answer: ResendAnswer,
  now: number,
): SendOutcome {
  const { error, headers } = answer;
  if (!error) return { kind: "delivered", status: 200 };
  if (!headers) return { kind: "retry", error: "network: resend unreachable" };
  const status = typeof error.statusCode === "number"
    ? error.statusCode
    : STATUS_OF_NAME[error.name ?? ""] ?? 500;
  const text = `http ${status}: ${error.name ?? "error"}${
    error.message ? ` ${error.message.replace(/https?:\/\/\S+/g, "<url>").slice(0, 200)}` : ""
  }`;
  // 409 concurrent_idempotent_requests: the first request with this key is still being handled.
  if (
    classify(new Response(null, { status })).retryable ||
    error.name === "concurrent_idempotent_requests"
  ) {
    return {
      kind: "retry",
      error: text,
      status,
      retryAfterMs: parseRetryAfter(headers["retry-after"], now),
    };
  }
  return { kind: "permanent", error: text, status };
}

/** Options of {@linkcode EmailSender}. */
export interface EmailSenderOptions {
  /** Resend API key; `RESEND_API_KEY` by default. */
  apiKey?: string;
  timeoutMs?: number;
  now?: () => number;
}

/** Sends emails through one Resend client, made on first use. */
export class EmailSender {
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  #resend: Resend | undefined;

  constructor(
    { apiKey, timeoutMs = 10_000, now = Date.now }: EmailSenderOptions = {},
  ) {
    this.#apiKey = apiKey;
    this.#timeoutMs = timeoutMs;
    this.#now = now;
  }

  /** The client, or undefined while no API key is set (the message waits for one). */
  #client(): Resend | undefined {
    const key = this.#apiKey ?? Deno.env.get("RESEND_API_KEY");
    if (!key) return undefined;
    this.#resend ??= new Resend(key);
    return this.#resend;
  }

  /** Sends one email with `idempotencyKey`. */
  async send(
    email: EmailMessage,
    idempotencyKey: string,
  ): Promise<SendOutcome> {
    const resend = this.#client();
    if (!resend) return NO_KEY;
    const answer = await resend.emails.send(
      email,
      {
        idempotencyKey,
        signal: AbortSignal.timeout(this.#timeoutMs),
      } as Parameters<Resend["emails"]["send"]>[1],
    );
    return outcomeOfResend(answer, this.#now());
  }

  /** Sends up to {@linkcode RESEND_BATCH_MAX} emails in one call, all or nothing. */
  async sendBatch(
    emails: EmailMessage[],
    idempotencyKey: string,
  ): Promise<SendOutcome> {
    if (emails.length === 0 || emails.length > RESEND_BATCH_MAX) {
      throw new RangeError(
        `A batch holds 1 to ${RESEND_BATCH_MAX} emails, got ${emails.length}`,
      );
    }
    const resend = this.#client();
    if (!resend) return NO_KEY;
    const answer = await resend.batch.send(
      emails,
      {
        idempotencyKey,
        signal: AbortSignal.timeout(this.#timeoutMs),
      } as Parameters<Resend["batch"]["send"]>[1],
    );
    return outcomeOfResend(answer, this.#now());
  }
}

/** Without a key nothing can be sent; the message is retried until one is set (or it is dead). */
const NO_KEY: SendOutcome = {
  kind: "retry",
  error: "secret RESEND_API_KEY is not set",
};
