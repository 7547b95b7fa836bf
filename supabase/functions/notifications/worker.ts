/**
 * One delivery run of the outbox: claim due messages under a lease (`notify.claim`, FOR UPDATE
 * SKIP LOCKED, so concurrent runs never hold the same message), render and send each, and record
 * the outcome (`notify.settle`): delivered, retried at a time from the project's backoff (full
 * jitter, exponential, capped; the receiver's `Retry-After` wins when longer), or dead-lettered.
 * Runs claim again until nothing is due or the time budget is spent, so one run drains a backlog
 * while each message's order key still lets only its oldest undelivered message out.
 *
 * A message is only sent while its lease has room for the whole attempt; otherwise, and when a
 * rate limit says wait longer than the run has left, it is handed back (`notify.release`) without
 * counting as an attempt. Slack gets at most one message per second per webhook with a burst of
 * two (Slack's documented limit), counted in the shared rate-limit store so that concurrent runs
 * share the budget.
 * @module
 */
import type { Clock } from "../_shared/clock.ts";
import { realClock } from "../_shared/clock.ts";
import type { Sql } from "../_shared/db/client.ts";
import { recordNotificationOutcome } from "../_shared/metrics/hooks.ts";
import { delayBeforeRetry } from "../_shared/resilience/retry_delay.ts";
import type { RateLimitBackend, RateLimitRule } from "../_shared/rate_limit/types.ts";
import { type EmailMessage, emailParts, EmailSender, RESEND_BATCH_MAX } from "./channels/email.ts";
import { outcomeOfError } from "./channels/outcome.ts";
import { PAGERDUTY_EVENTS_URL, pagerDutyBody, sendPagerDuty } from "./channels/pagerduty.ts";
import { sendSlack, slackMessage } from "./channels/slack.ts";
import { sendWebhook } from "./channels/webhook.ts";
import type { DestinationRow, OutboxMessage, SendOutcome } from "./model.ts";
import { readSecret } from "./secrets.ts";
import { checkTargetUrl, type NetworkKind, type Resolver } from "./target_url.ts";
import type { NotificationDocument, Template } from "./templates/document.ts";
import { TEMPLATES } from "./templates/registry.ts";

/** Slack's limit per incoming webhook: one message a second, a burst of two. */
export const SLACK_RATE: RateLimitRule = {
  name: "notify_slack",
  algorithm: "token_bucket",
  limit: 2,
  windowMs: 1000,
  refill: 1,
};

/** Options of {@linkcode deliverDue}. */
export interface DeliveryOptions {
  sql: Sql;
  /** Stops claiming after this long (ms); must stay well under notify.settings.lease. */
  budgetMs?: number;
  /** Messages per claim. */
  batchSize?: number;
  /** Destinations sent to at once. */
  concurrency?: number;
  /** Time allowed for one send. */
  sendTimeoutMs?: number;
  /** Shared store of the Slack rate limit; none: no limit beyond Slack's own 429. */
  rateLimits?: RateLimitBackend;
  clock?: Clock;
  random?: () => number;
  /** Resolves target host names (target_url.ts). */
  resolve?: Resolver;
  email?: EmailSender;
  /** Receives one record per message whose attempt did not deliver. */
  log?: (record: Record<string, unknown>) => void;
}

/** What a run did. */
export interface DeliveryReport {
  worker: string;
  claimed: number;
  delivered: number;
  retried: number;
  dead: number;
  released: number;
  leaseLost: number;
  durationMs: number;
}

interface Settings {
  retry_base_ms: number;
  retry_max_ms: number;
  email_from: string;
}

interface Run {
  options:
    & Required<Omit<DeliveryOptions, "rateLimits" | "resolve" | "email">>
    & DeliveryOptions;
  worker: string;
  settings: Settings;
  destinations: Map<string, DestinationRow>;
  email: EmailSender;
  deadline: number;
  report: DeliveryReport;
}

/**
 * Delivers what is due, for at most `budgetMs`; never throws for a failed send (only when the
 * database cannot be reached to claim).
 *
 * @example
 * ```ts
 * const report = await deliverDue({ sql: getDb(), budgetMs: 20_000 });
 * ```
 */
export async function deliverDue(
  options: DeliveryOptions,
): Promise<DeliveryReport> {
  const {
    sql,
    budgetMs = 20_000,
    batchSize = 50,
    concurrency = 8,
    sendTimeoutMs = 10_000,
    clock = realClock,
    random = Math.random,
    log = (record) => console.warn(JSON.stringify(record)),
  } = options;
  const started = clock.now();
  const worker = `w-${crypto.randomUUID()}`;
  const [settings] = await sql<Settings[]>`
    select retry_base_ms, retry_max_ms, email_from from notify.settings where id`;
  const rows = await sql<DestinationRow[]>`
    select channel, name, locale, config from notify.destinations`;
  const run: Run = {
    options: {
      ...options,
      sql,
      budgetMs,
      batchSize,
      concurrency,
      sendTimeoutMs,
      clock,
      random,
      log,
    },
    worker,
    settings,
    destinations: new Map(rows.map((d) => [`${d.channel}/${d.name}`, d])),
    email: options.email ??
      new EmailSender({ timeoutMs: sendTimeoutMs, now: () => clock.now() }),
    deadline: started + budgetMs,
    report: {
      worker,
      claimed: 0,
      delivered: 0,
      retried: 0,
      dead: 0,
      released: 0,
      leaseLost: 0,
      durationMs: 0,
    },
  };
  while (clock.now() < run.deadline) {
    const claimed = await sql<OutboxMessage[]>`
      select id, seq, message_id, channel, destination, template, locale, payload, event,
             ordering_key, status, attempts, created_at, lease_until
      from notify.claim(${worker}, ${batchSize})`;
    if (claimed.length === 0) break;
    run.report.claimed += claimed.length;
    const releasedBefore = run.report.released;
    await deliverBatch(run, claimed);
    // Everything went back (rate limits, no time left): claiming again would only spin.
    if (run.report.released - releasedBefore === claimed.length) break;
  }
  run.report.durationMs = clock.now() - started;
  return run.report;
}

async function deliverBatch(
  run: Run,
  messages: OutboxMessage[],
): Promise<void> {
  // Email on its first attempt goes out in Resend batches; the rest one by one per destination.
  const firstEmails = messages.filter((m) => m.channel === "email" && m.attempts === 1);
  const others = messages.filter((m) => !firstEmails.includes(m));
  const groups = new Map<string, OutboxMessage[]>();
  for (const m of others) {
    const key = `${m.channel}/${m.destination}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const tasks: (() => Promise<void>)[] = [...groups.values()].map(
    (group) => async () => {
      for (const m of group) await deliverOne(run, m);
    },
  );
  for (let i = 0; i < firstEmails.length; i += RESEND_BATCH_MAX) {
    const chunk = firstEmails.slice(i, i + RESEND_BATCH_MAX);
    tasks.push(() =>
      chunk.length === 1 ? deliverOne(run, chunk[0]) : deliverEmailBatch(run, chunk)
    );
  }
  await pool(tasks, run.options.concurrency);
}

/** Runs `tasks` with at most `limit` at once. */
async function pool(
  tasks: (() => Promise<void>)[],
  limit: number,
): Promise<void> {
  let next = 0;
  const lanes = Array.from(
    { length: Math.min(limit, tasks.length) },
    async () => {
      while (next < tasks.length) await tasks[next++]();
    },
  );
  await Promise.all(lanes);
}

/** Whether the lease leaves room for one more send of `m`; else the message is handed back. */
async function hasRoom(run: Run, m: OutboxMessage): Promise<boolean> {
  const now = run.options.clock.now();
  const leaseEnd = m.lease_until ? new Date(m.lease_until).getTime() : 0;
  if (
    now + run.options.sendTimeoutMs + 1_000 < leaseEnd &&
    now < run.deadline
  ) {
    return true;
  }
  await release(run, m, now);
  return false;
}

async function release(run: Run, m: OutboxMessage, at: number): Promise<void> {
  const [{ released }] = await run.options.sql<{ released: boolean }[]>`
    select notify.release(${m.id}::uuid, ${run.worker}, ${new Date(
    at,
  )}::timestamptz) as released`;
  if (released) run.report.released++;
}

async function deliverOne(run: Run, m: OutboxMessage): Promise<void> {
  if (!await hasRoom(run, m)) return;
  const startedAt = new Date(run.options.clock.now());
  let outcome: SendOutcome;
  try {
    const prepared = prepare(run, m);
    if (prepared.kind === "permanent") {
      outcome = prepared;
    } else {
      if (m.channel === "slack" && !await waitForSlack(run, m)) return;
      outcome = await send(run, m, prepared.document, prepared.template);
    }
  } catch (error) {
    outcome = outcomeOfError(error);
  }
  await settle(run, m, outcome, startedAt);
}

type Prepared =
  | {
    kind: "ready";
    template: Template<unknown>;
    document: NotificationDocument;
  }
  | { kind: "permanent"; error: string };

function prepare(run: Run, m: OutboxMessage): Prepared {
  const template = TEMPLATES[m.template] as Template<unknown> | undefined;
  if (!template || !template.channels.includes(m.channel)) {
    return {
      kind: "permanent",
      error: `template ${m.template} has no ${m.channel} version`,
    };
  }
  const parsed = template.schema.safeParse(m.payload);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) =>
      `${i.path.map(String).join(".") || "(payload)"}: ${i.message}`
    );
    return {
      kind: "permanent",
      error: `payload does not fit ${m.template}: ${issues.join("; ")}`,
    };
  }
  if (
    m.channel !== "email" &&
    !run.destinations.has(`${m.channel}/${m.destination}`)
  ) {
    return {
      kind: "permanent",
      error: `no ${m.channel} destination named ${m.destination}`,
    };
  }
  return {
    kind: "ready",
    template,
    document: template.render(parsed.data, m.locale),
  };
}

function destinationOf(run: Run, m: OutboxMessage): DestinationRow | undefined {
  return run.destinations.get(`${m.channel}/${m.destination}`);
}

function allowed(d: DestinationRow): NetworkKind[] {
  const list = d.config.allow_private_networks;
  return Array.isArray(list) ? list as NetworkKind[] : [];
}

async function send(
  run: Run,
  m: OutboxMessage,
  doc: NotificationDocument,
  template: Template<unknown>,
): Promise<SendOutcome> {
  const { sendTimeoutMs: timeoutMs, clock, resolve } = run.options;
  const now = () => clock.now();
  switch (m.channel) {
    case "slack": {
      const d = destinationOf(run, m)!;
      const url = await checkTargetUrl(readSecret(d.config.url_env), {
        allow: allowed(d),
        resolve,
      });
      return await sendSlack(url, slackMessage(doc), { timeoutMs, now });
    }
    case "webhook": {
      const d = destinationOf(run, m)!;
      const url = await checkTargetUrl(readSecret(d.config.url_env), {
        allow: allowed(d),
        resolve,
      });
      const body = {
        type: m.event ?? m.template,
        timestamp: new Date(m.created_at).toISOString(),
        data: m.payload,
      };
      return await sendWebhook(
        url,
        m.message_id,
        body,
        readSecret(d.config.secret_env),
        {
          timeoutMs,
          now,
        },
      );
    }
    case "pagerduty": {
      const d = destinationOf(run, m)!;
      const target = typeof d.config.url === "string" ? d.config.url : PAGERDUTY_EVENTS_URL;
      const url = await checkTargetUrl(target, { allow: allowed(d), resolve });
      const event = template.pagerduty?.(template.schema.parse(m.payload));
      if (!event) {
        return {
          kind: "permanent",
          error: `template ${m.template} has no pagerduty event`,
        };
      }
      const body = pagerDutyBody(
        readSecret(d.config.routing_key_env),
        event,
        doc,
        m.payload,
      );
      return await sendPagerDuty(url, body, { timeoutMs, now });
    }
    case "email":
      return await run.email.send(emailOf(run, m, doc), m.message_id);
  }
}

function emailOf(
  run: Run,
  m: OutboxMessage,
  doc: NotificationDocument,
): EmailMessage {
  const named = run.destinations.get(`email/${m.destination}`);
  const to = named ? (named.config.to as string[]) : [m.destination];
  return { from: run.settings.email_from, to, ...emailParts(doc) };
}

async function deliverEmailBatch(
  run: Run,
  batch: OutboxMessage[],
): Promise<void> {
  const ready: { m: OutboxMessage; email: EmailMessage }[] = [];
  for (const m of batch) {
    if (!await hasRoom(run, m)) continue;
    const prepared = prepare(run, m);
    if (prepared.kind === "permanent") {
      await settle(run, m, prepared, new Date(run.options.clock.now()));
    } else {
      ready.push({ m, email: emailOf(run, m, prepared.document) });
    }
  }
  if (ready.length === 0) return;
  const startedAt = new Date(run.options.clock.now());
  // The same messages make the same key, so a retried identical batch is not sent twice.
  const ids = ready.map((r) => r.m.message_id).sort().join("\n");
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(ids),
  );
  const key = `batch-${
    Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
      .join("")
  }`;
  let outcome: SendOutcome;
  try {
    outcome = ready.length === 1
      ? await run.email.send(ready[0].email, ready[0].m.message_id)
      : await run.email.sendBatch(ready.map((r) => r.email), key);
  } catch (error) {
    outcome = outcomeOfError(error);
  }
  if (outcome.kind === "permanent" && ready.length > 1) {
    // Strict validation refused the whole batch for one bad email: find it by sending alone.
    for (const { m, email } of ready) {
      let single: SendOutcome;
      try {
        single = await run.email.send(email, m.message_id);
      } catch (error) {
        single = outcomeOfError(error);
      }
      await settle(run, m, single, new Date(run.options.clock.now()));
    }
    return;
  }
  for (const { m } of ready) await settle(run, m, outcome, startedAt);
}

/** Takes a Slack token for the message's webhook, waiting while the run allows; false if released. */
async function waitForSlack(run: Run, m: OutboxMessage): Promise<boolean> {
  const limits = run.options.rateLimits;
  if (!limits) return true;
  const { clock } = run.options;
  for (;;) {
    let resetAt: number;
    try {
      const result = await limits.consume(SLACK_RATE, m.destination);
      if (result.allowed) return true;
      resetAt = result.resetAt;
    } catch {
      // The store is down: send anyway; Slack's own 429 and Retry-After still hold us back.
      return true;
    }
    const now = clock.now();
    const leaseEnd = m.lease_until ? new Date(m.lease_until).getTime() : 0;
    if (
      resetAt + run.options.sendTimeoutMs + 1_000 >= leaseEnd ||
      resetAt > run.deadline
    ) {
      await release(run, m, resetAt);
      return false;
    }
    await clock.sleep(Math.max(1, resetAt - now));
  }
}

async function settle(
  run: Run,
  m: OutboxMessage,
  outcome: SendOutcome,
  startedAt: Date,
) {
  const { sql, clock, random, log } = run.options;
  let retryAt: Date | null = null;
  if (outcome.kind === "retry") {
    const failure = outcome.retryAfterMs === undefined
      ? undefined
      : { retryAfterMs: outcome.retryAfterMs };
    const { delayMs } = delayBeforeRetry(Math.max(1, m.attempts), 0, failure, {
      baseDelayMs: run.settings.retry_base_ms,
      maxDelayMs: run.settings.retry_max_ms,
      jitter: "full",
      random,
      now: clock.now(),
    });
    retryAt = new Date(clock.now() + delayMs);
  }
  const error = outcome.kind === "delivered" ? null : outcome.error;
  const [{ status }] = await sql<{ status: string | null }[]>`
    select notify.settle(${m.id}::uuid, ${run.worker}, ${outcome.kind}, ${error},
                         ${outcome.status ?? null}::integer, ${retryAt}::timestamptz,
                         ${startedAt}::timestamptz) as status`;
  switch (status) {
    case "delivered":
      run.report.delivered++;
      recordNotificationOutcome(
        m.channel,
        "delivered",
        (clock.now() - new Date(m.created_at).getTime()) / 1000,
      );
      return;
    case "failed":
      run.report.retried++;
      recordNotificationOutcome(m.channel, "failed");
      break;
    case "dead":
      run.report.dead++;
      recordNotificationOutcome(m.channel, "dead");
      break;
    default:
      run.report.leaseLost++;
  }
  log({
    level: status === "dead" ? "error" : "warn",
    msg: status === "dead" ? "notification dead-lettered" : "notification not delivered",
    id: m.id,
    channel: m.channel,
    template: m.template,
    attempt: m.attempts,
    status,
    error,
    retry_at: retryAt?.toISOString(),
  });
}
