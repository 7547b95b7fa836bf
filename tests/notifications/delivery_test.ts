import "./_env.ts";
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { testDatabaseUrl } from "../_support/dev_server.ts";
import { createDb } from "../../supabase/functions/_shared/db/client.ts";
import { PostgresRateLimitBackend } from "../../supabase/functions/_shared/rate_limit/postgres_backend.ts";
import { deliverDue } from "../../supabase/functions/notifications/worker.ts";
import {
  alertGroup,
  closeReceivers,
  type Receivers,
  restoreDefaults,
  startReceivers,
  stockPayload,
  testSql,
  useReceivers,
  WEBHOOK_SECRETS,
} from "./_support.ts";

const sql = testSql();
const db = createDb({ url: testDatabaseUrl(), max: 4 });
const quiet = () => {};

async function withReceivers(fn: (r: Receivers) => Promise<void>) {
  const receivers = await startReceivers();
  try {
    await useReceivers(sql, receivers);
    await fn(receivers);
  } finally {
    await closeReceivers(receivers);
    await restoreDefaults(sql);
  }
}

async function statuses(): Promise<Record<string, string>> {
  const rows = await sql<{ message_id: string; status: string }[]>`
    select message_id, status from notify.messages`;
  return Object.fromEntries(rows.map((r) => [r.message_id, r.status]));
}

Deno.test("an alert published for a critical group reaches Slack and PagerDuty with its dedup key", async () => {
  await withReceivers(async (r) => {
    const [{ queued }] = await sql<{ queued: number }[]>`
      select notify.publish('alert.firing', ${sql.json(alertGroup("8f3c2a1b9d0e4f56"))},
                            '{"severity": "critical", "team": "shop", "fingerprint": "8f3c2a1b9d0e4f56"}',
                            null, 'grp-1') as queued`;
    assert.equal(queued, 2);
    const report = await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    assert.equal(report.delivered, 2);

    assert.equal(r.slack.received.length, 1);
    const slack = JSON.parse(r.slack.received[0].body);
    assert.equal(r.slack.received[0].path, "/services/T0/B0/x");
    assert.equal(slack.blocks[0].type, "header");
    assert.match(slack.text, /Test alert 8f3c2a1b9d0e4f56/);
    // Data is escaped for mrkdwn: no markup of the alert's text reaches Slack as markup.
    const texts = JSON.stringify(slack.blocks);
    assert.ok(texts.includes("Something &lt;b&gt;bad&lt;/b&gt; &amp; urgent"), texts);

    assert.equal(r.pagerduty.received.length, 1);
    const pd = JSON.parse(r.pagerduty.received[0].body);
    assert.equal(pd.event_action, "trigger");
    assert.equal(pd.dedup_key, "8f3c2a1b9d0e4f56");
    assert.equal(pd.routing_key, "R0UT1NGK3Y0000000000000000000000");
    assert.equal(pd.payload.severity, "critical");
    assert.equal(pd.payload.source, "db-1");

    // A warning goes to Slack only; the resolution reaches PagerDuty as a resolve of the same key.
    await sql`select notify.publish('alert.firing', ${
      sql.json(alertGroup("0000000000000001", { severity: "warning" }))
    },
                                    '{"severity": "warning"}')`;
    await sql`select notify.publish('alert.resolved', ${
      sql.json(alertGroup("8f3c2a1b9d0e4f56", { status: "resolved" }))
    },
                                    '{"severity": "critical"}')`;
    await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    assert.equal(r.slack.received.length, 2);
    assert.equal(r.pagerduty.received.length, 2);
    assert.deepEqual(JSON.parse(r.pagerduty.received[1].body), {
      routing_key: "R0UT1NGK3Y0000000000000000000000",
      event_action: "resolve",
      dedup_key: "8f3c2a1b9d0e4f56",
    });
    assert.ok(Object.values(await statuses()).every((s) => s === "delivered"));
  });
});

Deno.test("webhooks are signed per Standard Webhooks with every secret and verify with the official library", async () => {
  await withReceivers(async (r) => {
    const [{ id }] = await sql<{ id: string }[]>`
      select notify.enqueue('webhook', 'partner', 'stock.low', ${sql.json(stockPayload(7))}, null,
                            'msg_stock_7') as id`;
    await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    assert.equal(r.webhook.received.length, 1);
    const req = r.webhook.received[0];
    assert.equal(req.headers["webhook-id"], "msg_stock_7");
    assert.equal(req.headers["webhook-signature"].split(" ").length, 2);
    // Either secret verifies: receivers keep working while the old one is rotated out.
    for (const secret of WEBHOOK_SECRETS) {
      const body = new Webhook(secret).verify(req.body, req.headers) as { data: unknown };
      assert.deepEqual(body.data, stockPayload(7));
    }
    const tampered = req.body.replace('"available":2', '"available":9');
    assert.throws(
      () => new Webhook(WEBHOOK_SECRETS[0]).verify(tampered, req.headers),
      /signature/i,
    );
    const old = {
      ...req.headers,
      "webhook-timestamp": String(Math.floor(Date.now() / 1000) - 3600),
    };
    assert.throws(() => new Webhook(WEBHOOK_SECRETS[0]).verify(req.body, old), /too old/i);
    assert.throws(
      () => new Webhook("whsec_" + btoa("another secret entirely")).verify(req.body, req.headers),
      /signature/i,
    );
    const [row] = await sql`select status, attempts from notify.messages where id = ${id}`;
    assert.deepEqual({ ...row }, { status: "delivered", attempts: 1 });
  });
});

Deno.test("emails go through the Resend SDK: first attempts in one batch, retries alone with the outbox id as Idempotency-Key", async () => {
  await withReceivers(async (r) => {
    let batches = 0;
    r.resend.setPlan((req) => {
      if (req.path === "/emails/batch" && batches++ === 0) {
        return {
          status: 503,
          headers: { "retry-after": "0" },
          body: '{"statusCode":503,"name":"application_error","message":"down"}',
        };
      }
      return { status: 200, body: JSON.stringify({ id: crypto.randomUUID() }) };
    });
    for (let i = 1; i <= 3; i++) {
      await sql`select notify.enqueue('email', ${`customer${i}@example.com`}, 'stock.low',
                                      ${
        sql.json({ ...stockPayload(i), locale: i === 1 ? "fr" : "en" })
      },
                                      null, ${`mail-${i}`})`;
    }
    await sql`select notify.enqueue('email', 'ops', 'stock.low', ${
      sql.json(stockPayload(9))
    }, null, 'mail-ops')`;
    // The batch fails (503); each message comes due again (within 200 ms) and goes alone under
    // its own key.
    const first = await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    assert.equal(first.retried, 4);
    let delivered = first.delivered;
    for (let run = 0; delivered < 4 && run < 50; run++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      delivered += (await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 })).delivered;
    }
    assert.equal(delivered, 4);
    const batch = r.resend.received[0];
    assert.equal(batch.path, "/emails/batch");
    assert.equal(batch.headers.authorization, "Bearer re_test_key");
    assert.match(batch.headers["idempotency-key"], /^batch-[0-9a-f]{64}$/);
    const emails = JSON.parse(batch.body) as {
      to: string[];
      subject: string;
      html: string;
      text: string;
      from: string;
    }[];
    assert.equal(emails.length, 4);
    const byTo = Object.fromEntries(emails.map((e) => [e.to[0], e]));
    assert.match(byTo["customer1@example.com"].subject, /^Stock bas/);
    assert.match(byTo["customer2@example.com"].subject, /^Low stock/);
    // The named destination's address and locale (fr) come from configuration.
    assert.match(byTo["ops@comptoir.test"].subject, /^Stock bas/);
    assert.equal(byTo["ops@comptoir.test"].from, "Comptoir <notifications@comptoir.test>");
    assert.ok(emails.every((e) => e.html.startsWith("<!doctype html>") && e.text.length > 0));
    const singles = r.resend.received.slice(1);
    assert.equal(singles.length, 4);
    assert.ok(singles.every((s) => s.path === "/emails"));
    assert.deepEqual(
      singles.map((s) => s.headers["idempotency-key"]).sort(),
      ["mail-1", "mail-2", "mail-3", "mail-ops"],
    );
    const [attempts] = await sql`
      select count(*)::int as n from notify.attempts a join notify.messages m on m.id = a.message
      where m.message_id = 'mail-1'`;
    assert.equal(attempts.n, 2);
  });
});

Deno.test("a permanent refusal dead-letters with the reason, and a batch refusal finds the bad email", async () => {
  await withReceivers(async (r) => {
    r.webhook.setPlan(() => ({ status: 410, body: "gone" }));
    r.resend.setPlan((req) => {
      const bad = req.body.includes("bad@example.com");
      if (bad) {
        return {
          status: 422,
          body: '{"statusCode":422,"name":"validation_error","message":"Invalid `to` field"}',
        };
      }
      return { status: 200, body: req.path === "/emails/batch" ? '{"data":[]}' : '{"id":"x"}' };
    });
    await sql`select notify.enqueue('webhook', 'partner', 'stock.low', ${
      sql.json(stockPayload(1))
    }, null, 'wh-gone')`;
    await sql`select notify.enqueue('email', 'good@example.com', 'stock.low', ${
      sql.json(stockPayload(2))
    }, null, 'm-good')`;
    await sql`select notify.enqueue('email', 'bad@example.com', 'stock.low', ${
      sql.json(stockPayload(3))
    }, null, 'm-bad')`;
    const report = await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    assert.equal(report.dead, 2);
    assert.equal(report.delivered, 1);
    const rows = await sql<{ message_id: string; status: string; last_error: string }[]>`
      select message_id, status, last_error from notify.messages order by message_id`;
    assert.deepEqual(rows.map((x) => [x.message_id, x.status]), [
      ["m-bad", "dead"],
      ["m-good", "delivered"],
      ["wh-gone", "dead"],
    ]);
    assert.match(rows.find((x) => x.message_id === "wh-gone")!.last_error, /^http 410: gone/);
    assert.match(
      rows.find((x) => x.message_id === "m-bad")!.last_error,
      /^http 422: validation_error/,
    );
    // The dead letter is retryable once the receiver is fixed.
    r.webhook.setPlan(() => ({ status: 200 }));
    const [{ retried }] = await sql`select notify.retry_dead('webhook') as retried`;
    assert.equal(retried, 1);
    await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    assert.equal((await statuses())["wh-gone"], "delivered");
  });
});

Deno.test("a webhook that points at a private address is refused without a request", async () => {
  await withReceivers(async (r) => {
    await sql`update notify.destinations set config = config - 'allow_private_networks'
              where channel = 'webhook' and name = 'partner'`;
    await sql`select notify.enqueue('webhook', 'partner', 'stock.low', ${
      sql.json(stockPayload(1))
    }, null, 'wh-private')`;
    const report = await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    assert.equal(report.dead, 1);
    assert.equal(r.webhook.received.length, 0);
    const [row] = await sql`select last_error from notify.messages where message_id = 'wh-private'`;
    assert.match(row.last_error, /loopback address/);
  });
});

Deno.test("a missing variable deep in the payload dead-letters at render time, naming it", async () => {
  await withReceivers(async (r) => {
    await sql`select notify.enqueue('slack', 'ops', 'stock.low',
                                    '{"product": {"id": 1}, "available": 1, "threshold": 2}', null, 'bad-render')`;
    const report = await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    assert.equal(report.dead, 1);
    assert.equal(r.slack.received.length, 0);
    const [row] = await sql`select last_error from notify.messages where message_id = 'bad-render'`;
    assert.match(row.last_error, /payload does not fit stock\.low: product\.sku/);
  });
});

Deno.test("Slack gets at most one message a second per webhook after a burst of two", async () => {
  await withReceivers(async (r) => {
    for (let i = 0; i < 5; i++) {
      await sql`select notify.enqueue('slack', 'ops', 'stock.low', ${
        sql.json(stockPayload(i + 1))
      })`;
    }
    // Room in the lease to wait for the bucket within one run.
    await sql`update notify.settings set lease = interval '30 seconds' where id`;
    const rateLimits = new PostgresRateLimitBackend({ sql: db });
    const report = await deliverDue({ sql: db, rateLimits, log: quiet, sendTimeoutMs: 2000 });
    assert.equal(report.delivered, 5);
    const at = r.slack.received.map((x) => x.at);
    // Two at once, then one per second: the fifth no sooner than ~3 s after the first.
    assert.ok(at[4] - at[0] >= 2_700, `spread ${at[4] - at[0]} ms`);
    for (let i = 3; i < 5; i++) assert.ok(at[i] - at[i - 1] >= 700, `gap ${at[i] - at[i - 1]} ms`);
  });
});

Deno.test("delivery records outcomes and latency in the metrics registry by channel", async () => {
  const { metricsPipeline } = await import("../../supabase/functions/_shared/metrics/pipeline.ts");
  await withReceivers(async (r) => {
    const { registry } = metricsPipeline();
    registry.drain();
    r.webhook.setPlan((req) => req.n === 1 ? { status: 500 } : { status: 200 });
    await sql`select notify.enqueue('webhook', 'partner', 'stock.low', ${
      sql.json(stockPayload(1))
    })`;
    await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 2000 });
    const samples = registry.drain();
    const find = (name: string) => samples.filter((s) => JSON.stringify(s).includes(name));
    assert.equal(find("comptoir_notifications_failed_total").length, 1);
    assert.equal(find("comptoir_notifications_delivered_total").length, 1);
    assert.ok(find("comptoir_notifications_delivery_latency_seconds").length > 0);
    assert.ok(JSON.stringify(find("comptoir_notifications_delivered_total")).includes("webhook"));
  });
});

Deno.test({
  name: "close the notifications delivery test's connections",
  fn: async () => {
    await db.end();
    await sql.end();
  },
  sanitizeResources: false,
  sanitizeOps: false,
});
