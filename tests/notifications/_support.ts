/**
 * What the notifications tests share: recording HTTP servers that stand in for Slack, Resend,
 * PagerDuty and webhook subscribers (each answer scripted per request: a status, a delay, a reset
 * connection, a hang), a connection to the test database, and a test routing configuration whose
 * destinations point at the recorders.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import postgres from "postgres";
import { testDatabaseUrl } from "../_support/dev_server.ts";
import { parseNotificationsConfig } from "../../supabase/functions/notifications/config.ts";
import { readNotificationsConfig, syncNotifications } from "../../scripts/lib/notify_sync.ts";
import { postgresRunner } from "../../scripts/lib/sql_runner.ts";

/** One request a recorder received. */
export interface Received {
  /** 1 for the first request this recorder got. */
  n: number;
  at: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** What the recorder did with it. */
  answered: number | "reset" | "hang";
}

/** How a recorder answers one request. */
export type Answer =
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  | { reset: true }
  | { hang: true };

/** Chooses the answer to request `req` (the recorder's `n`-th). */
export type Plan = (req: Received) => Answer;

/** A recording server on 127.0.0.1. */
export interface Recorder {
  url: string;
  port: number;
  received: Received[];
  /** Requests answered with 2xx. */
  accepted(): Received[];
  /** Stops listening (requests fail with "connection refused") until {@linkcode Recorder.up}. */
  down(): Promise<void>;
  up(): Promise<void>;
  setPlan(plan: Plan): void;
  close(): Promise<void>;
}

/** Answers 200 `ok` (Slack's answer) to everything. */
export const OK: Plan = () => ({ status: 200, body: "ok" });

/**
 * Starts a recorder answering by `plan`.
 *
 * @example
 * ```ts
 * const slack = await startRecorder(OK);
 * ```
 */
export async function startRecorder(plan: Plan = OK): Promise<Recorder> {
  const received: Received[] = [];
  const hanging = new Set<ServerResponse>();
  let current = plan;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (c: Uint8Array) => chunks.push(c));
    req.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        headers[k] = Array.isArray(v) ? v.join(", ") : String(v);
      }
      const entry: Received = {
        n: received.length + 1,
        at: Date.now(),
        method: req.method ?? "",
        path: req.url ?? "",
        headers,
        body: new TextDecoder().decode(concat(chunks)),
        answered: 0,
      };
      received.push(entry);
      const answer = current(entry);
      if ("reset" in answer) {
        entry.answered = "reset";
        req.socket.destroy();
        return;
      }
      if ("hang" in answer) {
        entry.answered = "hang";
        hanging.add(res);
        return;
      }
      entry.answered = answer.status;
      const send = () => {
        res.writeHead(answer.status, {
          "content-type": answer.body?.startsWith("{") ? "application/json" : "text/plain",
          ...answer.headers,
        });
        res.end(answer.body ?? "");
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  };
  let server: Server = createServer(handler);
  const listen = (port: number) =>
    new Promise<number>((resolve) => {
      server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(0);
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const res of hanging) res.socket?.destroy();
      hanging.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    accepted: () => received.filter((r) => typeof r.answered === "number" && r.answered < 300),
    down: stop,
    up: async () => {
      server = createServer(handler);
      await listen(port);
    },
    setPlan: (p) => current = p,
    close: stop,
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A superuser connection to the test database. */
export function testSql(): postgres.Sql {
  return postgres(testDatabaseUrl(), { max: 4, onnotice: () => {} });
}

/** Receivers of one test, by channel. */
export interface Receivers {
  slack: Recorder;
  resend: Recorder;
  pagerduty: Recorder;
  webhook: Recorder;
}

/** Signing secrets of the test webhook destination: the new one first, the old one second. */
export const WEBHOOK_SECRETS = [
  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  "whsec_dGVzdC1zZWNyZXQtb2xkLWtleS0xMjM0NTY3OA==",
] as const;

/**
 * Points the outbox at `receivers`: environment variables for the secrets and Resend, and a
 * routing configuration whose destinations allow loopback; settings with short leases and delays
 * (a worker with the default 10 s send timeout needs a lease of more than 11 s).
 */
export async function useReceivers(
  sql: postgres.Sql,
  receivers: Receivers,
  { leaseSeconds = 5 }: { leaseSeconds?: number } = {},
): Promise<void> {
  Deno.env.set("COMPTOIR_NOTIFY_SLACK_TEST_URL", `${receivers.slack.url}/services/T0/B0/x`);
  Deno.env.set("COMPTOIR_NOTIFY_WEBHOOK_TEST_URL", `${receivers.webhook.url}/hooks/comptoir`);
  Deno.env.set("COMPTOIR_NOTIFY_WEBHOOK_TEST_SECRET", WEBHOOK_SECRETS.join(" "));
  Deno.env.set("COMPTOIR_NOTIFY_PAGERDUTY_TEST_KEY", "R0UT1NGK3Y0000000000000000000000");
  Deno.env.set("RESEND_BASE_URL", receivers.resend.url);
  Deno.env.set("RESEND_API_KEY", "re_test_key");
  const config = parseNotificationsConfig({
    email: { from: "Comptoir <notifications@comptoir.test>" },
    destinations: {
      slack: {
        ops: { url_env: "COMPTOIR_NOTIFY_SLACK_TEST_URL", allow_private_networks: ["loopback"] },
      },
      webhook: {
        partner: {
          url_env: "COMPTOIR_NOTIFY_WEBHOOK_TEST_URL",
          secret_env: "COMPTOIR_NOTIFY_WEBHOOK_TEST_SECRET",
          allow_private_networks: ["loopback"],
        },
      },
      pagerduty: {
        oncall: {
          routing_key_env: "COMPTOIR_NOTIFY_PAGERDUTY_TEST_KEY",
          url: `${receivers.pagerduty.url}/v2/enqueue`,
          allow_private_networks: ["loopback"],
        },
      },
      email: { ops: { to: ["ops@comptoir.test"], locale: "fr" } },
    },
    routes: [
      {
        name: "a-slack",
        event: "alert.firing",
        channel: "slack",
        destination: "ops",
        template: "alert.firing",
      },
      {
        name: "a-pd",
        event: "alert.firing",
        channel: "pagerduty",
        destination: "oncall",
        template: "alert.firing",
        match: { severity: "critical" },
      },
      {
        name: "a-pd-resolved",
        event: "alert.resolved",
        channel: "pagerduty",
        destination: "oncall",
        template: "alert.resolved",
        match: { severity: "critical" },
      },
      {
        name: "o-email",
        event: "order.placed",
        channel: "email",
        destination_from: "customer.email",
        template: "order.confirmation",
      },
      {
        name: "o-webhook",
        event: "order.placed",
        channel: "webhook",
        destination: "partner",
        template: "order.confirmation",
      },
      {
        name: "s-slack",
        event: "stock.low",
        channel: "slack",
        destination: "ops",
        template: "stock.low",
      },
      {
        name: "s-email",
        event: "stock.low",
        channel: "email",
        destination: "ops",
        template: "stock.low",
      },
    ],
  });
  const db = postgresRunner(testDatabaseUrl());
  try {
    await syncNotifications(db, config);
  } finally {
    await db.close();
  }
  await sql`delete from notify.messages`;
  await sql`delete from rate_limit.counters where key like 'notify_slack:%'`;
  await sql`
    update notify.settings
    set lease = make_interval(secs => ${leaseSeconds}), retry_base_ms = 20, retry_max_ms = 200, max_attempts = 40,
        max_age = interval '24 hours'
    where id`;
}

/** Puts the repository's configuration and default settings back. */
export async function restoreDefaults(sql: postgres.Sql): Promise<void> {
  await sql`delete from notify.messages`;
  await sql`
    update notify.settings
    set lease = interval '60 seconds', retry_base_ms = 5000, retry_max_ms = 1800000,
        max_attempts = 40, max_age = interval '24 hours'
    where id`;
  const db = postgresRunner(testDatabaseUrl());
  try {
    await syncNotifications(db, await readNotificationsConfig());
  } finally {
    await db.close();
  }
}

/** Starts the four receivers with `OK`-like answers per channel. */
export async function startReceivers(): Promise<Receivers> {
  return {
    slack: await startRecorder(OK),
    resend: await startRecorder(resendOk),
    pagerduty: await startRecorder(() => ({
      status: 202,
      body: '{"status":"success","message":"Event processed"}',
    })),
    webhook: await startRecorder(() => ({ status: 204 })),
  };
}

/** Resend's answer to a send (one id) or a batch (one id per email). */
export const resendOk: Plan = (req) => {
  if (req.path === "/emails/batch") {
    const emails = JSON.parse(req.body) as unknown[];
    return {
      status: 200,
      body: JSON.stringify({ data: emails.map(() => ({ id: crypto.randomUUID() })) }),
    };
  }
  return { status: 200, body: JSON.stringify({ id: crypto.randomUUID() }) };
};

/** Stops every receiver. */
export async function closeReceivers(r: Receivers): Promise<void> {
  await Promise.all(Object.values(r).map((x: Recorder) => x.close()));
}

/** A valid alert group payload. */
export function alertGroup(
  fingerprint: string,
  { severity = "critical", status = "firing" }: { severity?: string; status?: string } = {},
) {
  return {
    group_key: `{}:{alertname="Test${fingerprint}"}`,
    status,
    common_labels: { alertname: `Test${fingerprint}`, severity, team: "shop" },
    common_annotations: { summary: `Test alert ${fingerprint}` },
    alerts: [{
      fingerprint,
      status,
      labels: { alertname: `Test${fingerprint}`, severity, instance: "db-1" },
      annotations: {
        summary: `Test alert ${fingerprint}`,
        description: "Something <b>bad</b> & urgent",
        runbook_url: "https://comptoir.dev/runbooks/test",
      },
      starts_at: "2026-12-04T09:00:00Z",
      ends_at: status === "resolved" ? "2026-12-04T09:30:00Z" : null,
      value: 42,
    }],
    external_url: "https://alerts.comptoir.dev/#/alerts",
  };
}

/** A valid stock.low payload. */
export function stockPayload(id: number) {
  return { product: { id, sku: `SKU-${id}`, name: `Product ${id}` }, available: 2, threshold: 10 };
}
