/**
 * What an answer or a thrown error means for a message, by the shared classification
 * (resilience/classify.ts): 2xx delivered; 408, 429 and 5xx (but 501, 505) worth another attempt,
 * with the receiver's `Retry-After`; any other 4xx permanent (400, 404, 410 never succeed). Error
 * texts come from the status and the classification only: a network error's message carries the
 * URL, which for Slack and webhooks is a secret.
 * @module
 */
import { classify } from "../../_shared/resilience/classify.ts";
import { retryAfterMs } from "../../_shared/resilience/retry_after.ts";
import type { SendOutcome } from "../model.ts";
import { MissingSecretError } from "../secrets.ts";
import { TargetNotAllowedError } from "../target_url.ts";

/** Longest receiver text kept in an error. */
const MAX_BODY_TEXT = 200;

/**
 * The outcome of an HTTP answer; reads (and so releases) the body of a failure.
 *
 * @example
 * ```ts
 * const outcome = await outcomeOfResponse(await fetch(url, init), Date.now());
 * ```
 */
export async function outcomeOfResponse(
  res: Response,
  now: number,
): Promise<SendOutcome> {
  if (res.ok) {
    await res.body?.cancel();
    return { kind: "delivered", status: res.status };
  }
  const body = (await res.text().catch(() => "")).replace(
    /https?:\/\/\S+/g,
    "<url>",
  );
  const error = `http ${res.status}${body ? `: ${body.slice(0, MAX_BODY_TEXT)}` : ""}`;
  if (classify(res).retryable) {
    return {
      kind: "retry",
      error,
      status: res.status,
      retryAfterMs: retryAfterMs(res, now),
    };
  }
  return { kind: "permanent", error, status: res.status };
}

/**
 * The outcome of a thrown error: configuration problems and refused targets are permanent
 * (retrying changes nothing until an operator acts, and then they retry the dead letter), a
 * missing secret is retried (it may be set meanwhile), network failures and timeouts are retried.
 *
 * @example
 * ```ts
 * try { ... } catch (error) { return outcomeOfError(error); }
 * ```
 */
export function outcomeOfError(error: unknown): SendOutcome {
  if (error instanceof TargetNotAllowedError) {
    return { kind: "permanent", error: error.message };
  }
  if (error instanceof MissingSecretError) {
    return { kind: "retry", error: error.message };
  }
  const verdict = classify(error);
  const text = `${verdict.kind}: ${verdict.reason}`;
  return verdict.retryable ? { kind: "retry", error: text } : { kind: "permanent", error: text };
}
