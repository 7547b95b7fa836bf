import "./_env.ts";
import assert from "node:assert/strict";
import { testDatabaseUrl } from "../_support/dev_server.ts";
import { createDb } from "../../supabase/functions/_shared/db/client.ts";
import { deliverDue } from "../../supabase/functions/notifications/worker.ts";
import {
  closeReceivers,
  type Received,
  restoreDefaults,
  startReceivers,
  stockPayload,
  testSql,
  useReceivers,
} from "./_support.ts";

const sql = testSql();
const quiet = () => {};

/** The message a request carried: webhook-id, Resend's key, or the product in a Slack text. */
function productsOf(req: Received): number[] {
  if (req.path === "/emails/batch") {
    return (JSON.parse(req.body) as { subject: string }[]).map((e) =>
      Number(/#(\d+)/.exec(e.subject)![1])
    );
  }
  const match = [...req.body.matchAll(/item-(\d+)/g)].map((m) => Number(m[1]));
  return [...new Set(match)];
}

function payload(i: number, permanent = false) {
  return {
    ...stockPayload(i),
    product: { id: i, sku: `SKU-${i}`, name: `${permanent ? "PERMANENT " : ""}item-${i} #${i}` },
  };
}

Deno.test("chaos: 429s, 5xx, timeouts, resets and an outage, two racing workers — all delivered once, in order", async () => {
  const receivers = await startReceivers();
  const db1 = createDb({ url: testDatabaseUrl(), max: 3 });
  const db2 = createDb({ url: testDatabaseUrl(), max: 3 });
  try {
    await useReceivers(sql, receivers);
    const { webhook, resend, slack } = receivers;
    webhook.setPlan((req) => {
      if (req.body.includes("PERMANENT")) return { status: 404, body: "no such subscription" };
      switch (req.n % 9) {
        case 1:
          return { status: 429, headers: { "retry-after": "1" } };
        case 3:
          return { status: 500 };
        case 5:
          return { hang: true };
        case 7:
          return { reset: true };
        default:
          return { status: 200 };
      }
    });
    resend.setPlan((req) => {
      if (req.n <= 2) {
        return {
          status: 429,
          headers: { "retry-after": "1" },
          body: '{"statusCode":429,"name":"rate_limit_exceeded","message":"Too many requests"}',
        };
      }
      if (req.n % 5 === 0) return { reset: true };
      if (req.n % 5 === 2) return { status: 502, body: "<html>bad gateway</html>" };
      const ids = req.path === "/emails/batch"
        ? (JSON.parse(req.body) as unknown[]).map(() => ({ id: "e" }))
        : null;
      return { status: 200, body: JSON.stringify(ids ? { data: ids } : { id: "e" }) };
    });
    slack.setPlan((req) =>
      req.n % 4 === 2
        ? { status: 503, headers: { "retry-after": "1" }, body: "busy" }
        : { status: 200, body: "ok" }
    );

    // 30 webhooks on 6 ordering keys, 3 of them refused for good; 20 emails; 10 Slack messages.
    const ordered = new Map<string, number[]>();
    const permanent = new Set([5, 17, 29]);
    for (let i = 1; i <= 30; i++) {
      const key = `key-${i % 6}`;
      ordered.set(key, [...(ordered.get(key) ?? []), i]);
      await sql`select notify.enqueue('webhook', 'partner', 'stock.low', ${
        sql.json(payload(i, permanent.has(i)))
      },
                                      ${key}, ${`wh-${i}`})`;
    }
    for (let i = 31; i <= 50; i++) {
      await sql`select notify.enqueue('email', ${`c${i}@example.com`}, 'stock.low', ${
        sql.json(payload(i))
      },
                                      null, ${`em-${i}`})`;
    }
    for (let i = 51; i <= 60; i++) {
      await sql`select notify.enqueue('slack', 'ops', 'stock.low', ${
        sql.json(payload(i))
      }, 'slack-feed',
                                      ${`sl-${i}`})`;
    }
    await webhook.down();
    setTimeout(() => void webhook.up(), 1_500);

    const worker = async (db: typeof db1) => {
      const started = Date.now();
      while (Date.now() - started < 90_000) {
        await deliverDue({
          sql: db,
          log: quiet,
          sendTimeoutMs: 1_000,
          batchSize: 10,
          budgetMs: 3_000,
        });
        const [{ open }] = await sql<{ open: number }[]>`
          select count(*)::int as open from notify.messages where status in ('pending', 'sending', 'failed')`;
        if (open === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await Promise.all([worker(db1), worker(db2)]);

    const rows = await sql<
      { message_id: string; status: string; last_error: string | null; attempts: number }[]
    >`
      select message_id, status, last_error, attempts from notify.messages order by seq`;
    assert.equal(rows.length, 60);
    for (const row of rows) {
      const i = Number(row.message_id.split("-")[1]);
      if (permanent.has(i)) {
        assert.equal(row.status, "dead", row.message_id);
        assert.match(row.last_error!, /^http 404: no such subscription/);
      } else {
        assert.equal(row.status, "delivered", `${row.message_id}: ${row.last_error}`);
      }
    }
    assert.ok(rows.some((r) => r.attempts > 1), "faults caused retries");

    // Zero duplicates: every delivered message was accepted by its receiver exactly once, under
    // the stable id it was queued with.
    const acceptedWebhooks = webhook.accepted().map((r) => r.headers["webhook-id"]);
    assert.equal(new Set(acceptedWebhooks).size, acceptedWebhooks.length, "duplicate webhook");
    assert.equal(acceptedWebhooks.length, 27);
    const acceptedEmails = resend.accepted().flatMap(productsOf);
    assert.equal(new Set(acceptedEmails).size, acceptedEmails.length, "duplicate email");
    assert.equal(acceptedEmails.length, 20);
    for (const r of resend.received.filter((x) => x.path === "/emails")) {
      assert.equal(r.headers["idempotency-key"], `em-${productsOf(r)[0]}`);
    }
    const acceptedSlack = slack.accepted().flatMap(productsOf);
    assert.deepEqual(
      acceptedSlack,
      [51, 52, 53, 54, 55, 56, 57, 58, 59, 60],
      "Slack feed in order, once each",
    );

    // Retry-After was honoured: the next request for a message that got a 429 or a 503 with
    // Retry-After: 1 came at least a second later.
    for (const recorder of [webhook, slack]) {
      for (
        const refused of recorder.received.filter((r) => r.answered === 429 || r.answered === 503)
      ) {
        const id = refused.headers["webhook-id"] ?? String(productsOf(refused)[0]);
        const next = recorder.received.find((r) =>
          r.n > refused.n && (r.headers["webhook-id"] ?? String(productsOf(r)[0])) === id
        );
        assert.ok(next, `message ${id} was retried`);
        assert.ok(
          next.at - refused.at >= 950,
          `retried ${next.at - refused.at} ms after Retry-After: 1`,
        );
      }
    }
    for (const refused of resend.received.filter((r) => r.answered === 429)) {
      const carried = productsOf(refused);
      const next = resend.received.find((r) =>
        r.n > refused.n && productsOf(r).some((p) => carried.includes(p))
      );
      assert.ok(next, "refused emails were retried");
      assert.ok(
        next.at - refused.at >= 950,
        `email retried ${next.at - refused.at} ms after Retry-After: 1`,
      );
    }

    // Per ordering key, first acceptances in enqueue order.
    const firstAccepted = [...new Set(acceptedWebhooks)].map((id) => Number(id.split("-")[1]));
    for (const [key, members] of ordered) {
      const expected = members.filter((i) => !permanent.has(i));
      assert.deepEqual(firstAccepted.filter((i) => expected.includes(i)), expected, key);
    }
  } finally {
    await closeReceivers(receivers);
    await restoreDefaults(sql);
    await db1.end();
    await db2.end();
  }
});

Deno.test("a worker killed mid-batch: its messages come back after the lease and go out once", async () => {
  const receivers = await startReceivers();
  const db = createDb({ url: testDatabaseUrl(), max: 3 });
  try {
    await useReceivers(sql, receivers);
    // Every request hangs: the worker is killed while its sends are in flight.
    receivers.webhook.setPlan(() => ({ hang: true }));
    for (let i = 1; i <= 6; i++) {
      await sql`select notify.enqueue('webhook', 'partner', 'stock.low', ${
        sql.json(payload(i))
      }, null, ${`k-${i}`})`;
    }
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./fixtures/deliver_once.ts", import.meta.url).pathname],
      env: { TEST_DATABASE_URL: testDatabaseUrl() },
      stdout: "null",
      stderr: "null",
    }).spawn();
    const started = Date.now();
    while (receivers.webhook.received.length < 1 && Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGKILL");
    await child.status;
    const inFlight = new Set(receivers.webhook.received.map((r) => r.headers["webhook-id"]));
    assert.ok(inFlight.size >= 1);
    const [{ sending }] = await sql<{ sending: number }[]>`
      select count(*)::int as sending from notify.messages where status = 'sending'`;
    assert.ok(sending >= 1, "the killed worker's messages stay leased");

    receivers.webhook.setPlan(() => ({ status: 200 }));
    // Before the lease runs out nobody else gets them.
    await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 1_000 });
    const [{ stillSending }] = await sql<{ stillSending: number }[]>`
      select count(*)::int as "stillSending" from notify.messages where status = 'sending'`;
    assert.equal(stillSending, sending);
    await new Promise((resolve) => setTimeout(resolve, 5_200));
    await deliverDue({ sql: db, log: quiet, sendTimeoutMs: 1_000 });
    const rows = await sql<{ message_id: string; status: string; attempts: number }[]>`
      select message_id, status, attempts from notify.messages order by message_id`;
    assert.ok(rows.every((r) => r.status === "delivered"), JSON.stringify(rows));
    const accepted = receivers.webhook.accepted().map((r) => r.headers["webhook-id"]);
    assert.deepEqual([...accepted].sort(), ["k-1", "k-2", "k-3", "k-4", "k-5", "k-6"]);
    // The lost claim counted as an attempt; the id was the same on both.
    for (const id of inFlight) assert.equal(rows.find((r) => r.message_id === id)!.attempts, 2);
  } finally {
    await closeReceivers(receivers);
    await restoreDefaults(sql);
    await db.end();
  }
});

Deno.test({
  name: "close the chaos test's connection",
  fn: () => sql.end(),
  sanitizeResources: false,
  sanitizeOps: false,
});
