/**
 * The outbox's SQL as the notifications function's routes use it: enqueue and publish (the same
 * functions any SQL caller uses, inside one statement), the dead-letter list, a message with its
 * attempts, and retries of dead letters.
 * @module
 */
import type { Sql } from "../_shared/db/client.ts";
import type { Channel } from "./model.ts";

/** A message as the admin routes show it (payload included: the caller is the team). */
export interface MessageView {
  id: string;
  message_id: string;
  channel: Channel;
  destination: string;
  template: string;
  locale: string;
  event: string | null;
  ordering_key: string | null;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  delivered_at: Date | null;
  payload?: unknown;
}

/** One attempt at a message. */
export interface AttemptView {
  attempt: number;
  worker: string;
  started_at: Date;
  finished_at: Date;
  outcome: string;
  http_status: number | null;
  error: string | null;
  retry_at: Date | null;
}

/** What {@linkcode enqueue} takes. */
export interface EnqueueInput {
  channel: Channel;
  destination: string;
  template: string;
  payload: Record<string, unknown>;
  ordering_key?: string;
  message_id?: string;
}

/** Queues one message; returns its id (the first one's when `message_id` was used before). */
export async function enqueue(sql: Sql, input: EnqueueInput): Promise<string> {
  const [{ id }] = await sql<{ id: string }[]>`
    select notify.enqueue(${input.channel}, ${input.destination}, ${input.template},
                          ${sql.json(input.payload as never)}, ${input.ordering_key ?? null},
                          ${input.message_id ?? null}) as id`;
  return id;
}

/** What {@linkcode publish} takes. */
export interface PublishInput {
  event: string;
  payload: Record<string, unknown>;
  attributes?: Record<string, unknown>;
  ordering_key?: string;
  message_id?: string;
}

/** Routes an event; returns how many messages it queued. */
export async function publish(sql: Sql, input: PublishInput): Promise<number> {
  const [{ queued }] = await sql<{ queued: number }[]>`
    select notify.publish(${input.event}, ${sql.json(input.payload as never)},
                          ${sql.json((input.attributes ?? {}) as never)},
                          ${input.ordering_key ?? null}, ${input.message_id ?? null}) as queued`;
  return queued;
}

/** Options of {@linkcode listDead}. */
export interface ListDeadOptions {
  channel?: Channel;
  limit: number;
  /** Only messages that died before this (`updated_at`, id) position: the next page. */
  before?: { at: string; id: string };
}

/** Dead letters, most recent first. */
export function listDead(
  sql: Sql,
  { channel, limit, before }: ListDeadOptions,
): Promise<MessageView[]> {
  return sql<MessageView[]>`
    select id, message_id, channel, destination, template, locale, event, ordering_key, status,
           attempts, next_attempt_at, last_error, created_at, updated_at, delivered_at
    from notify.messages
    where status = 'dead'
      and (${channel ?? null}::text is null or channel = ${channel ?? null})
      and (${before?.at ?? null}::timestamptz is null
           or (updated_at, id) < (${before?.at ?? null}::timestamptz, ${before?.id ?? null}::uuid))
    order by updated_at desc, id desc
    limit ${limit}`;
}

/** A message with its payload and attempts, or undefined. */
export async function messageWithAttempts(
  sql: Sql,
  id: string,
): Promise<{ message: MessageView; attempts: AttemptView[] } | undefined> {
  const [message] = await sql<MessageView[]>`
    select id, message_id, channel, destination, template, locale, event, ordering_key, status,
           attempts, next_attempt_at, last_error, created_at, updated_at, delivered_at, payload
    from notify.messages where id = ${id}::uuid`;
  if (!message) return undefined;
  const attempts = await sql<AttemptView[]>`
    select attempt, worker, started_at, finished_at, outcome, http_status, error, retry_at
    from notify.attempts where message = ${id}::uuid
    order by started_at, attempt`;
  return { message, attempts };
}

/** Queues a dead or failed message again now: true, false when not dead or failed, undefined when absent. */
export async function retryMessage(
  sql: Sql,
  id: string,
): Promise<boolean | undefined> {
  const [row] = await sql<{ retried: boolean }[]>`
    select notify.retry(${id}::uuid) as retried
    where exists (select 1 from notify.messages where id = ${id}::uuid)`;
  return row?.retried;
}

/** Queues every dead message (of `channel`) again; returns how many. */
export async function retryDead(sql: Sql, channel?: Channel): Promise<number> {
  const [{ retried }] = await sql<{ retried: number }[]>`
    select notify.retry_dead(${channel ?? null}) as retried`;
  return retried;
}
