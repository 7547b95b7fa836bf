import assert from "node:assert/strict";
import { createClient, FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import { startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import {
  alertGroup,
  closeReceivers,
  restoreDefaults,
  startReceivers,
  stockPayload,
  testSql,
  useReceivers,
} from "./_support.ts";

interface Answer {
  status: number;
  contentType: string | null;
  // deno-lint-ignore no-explicit-any
  body: any;
}

async function call(
  client: SupabaseClient,
  path: string,
  method: "GET" | "POST" = "GET",
  body?: unknown,
): Promise<Answer> {
  const { data, error, response } = await client.functions.invoke(path, {
    method,
    body: body as Record<string, unknown> | undefined,
  });
  if (error) {
    if (!(error instanceof FunctionsHttpError)) throw error;
    const res = error.context as Response;
    const text = await res.text();
    return {
      status: res.status,
      contentType: res.headers.get("content-type"),
      body: text ? JSON.parse(text) : null,
    };
  }
  return {
    status: response!.status,
    contentType: response!.headers.get("content-type"),
    body: data,
  };
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 15_000,
): Promise<void> {
  const started = Date.now();
  while (!await check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test("the notifications function over HTTP: enqueue, publish, refusals, dead letters and retries", async () => {
  const sql = testSql();
  const receivers = await startReceivers();
  // The server's environment points the channels at the recorders (useReceivers sets them here).
  await useReceivers(sql, receivers);
  const env = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) =>
      k.startsWith("COMPTOIR_NOTIFY_") || k.startsWith("RESEND_")
    ),
  );
  const server = await startDevServer({ dbUrl: testDatabaseUrl(), env });
  try {
    // The dev stack synced config/notifications.json on start; the test's routing goes back in.
    await useReceivers(sql, receivers, { leaseSeconds: 30 });
    const opts = { auth: { persistSession: false, autoRefreshToken: false } };
    const service = createClient(server.url, server.serviceRoleKey, opts);
    const anon = createClient(server.url, server.anonKey, opts);
    const count = async () =>
      (await sql`select count(*)::int as n from notify.messages`)[0].n as number;

    // Enqueue, delivered right after the request.
    const queued = await call(service, "notifications/messages", "POST", {
      channel: "webhook",
      destination: "partner",
      template: "stock.low",
      payload: stockPayload(3),
      message_id: "http-1",
    });
    assert.equal(queued.status, 201);
    assert.match(queued.body.id, /^[0-9a-f-]{36}$/);
    await until(() => receivers.webhook.accepted().length === 1, "the webhook");
    assert.equal(receivers.webhook.received[0].headers["webhook-id"], "http-1");

    // Bad input: problem+json with the right status, nothing queued.
    const before = await count();
    const refusals: [unknown, number, RegExp][] = [
      [{ channel: "slack", destination: "ops", template: "nope", payload: {} }, 422, /template/],
      [
        {
          channel: "slack",
          destination: "ops",
          template: "stock.low",
          payload: { product: { id: 1 } },
        },
        422,
        /payload/,
      ],
      [
        { channel: "sms", destination: "ops", template: "stock.low", payload: stockPayload(1) },
        422,
        /channel/,
      ],
      [
        {
          channel: "slack",
          destination: "nobody",
          template: "stock.low",
          payload: stockPayload(1),
        },
        422,
        /unknown slack destination nobody/,
      ],
      [
        {
          channel: "slack",
          destination: "ops",
          template: "stock.low",
          payload: { ...stockPayload(1), blob: "x".repeat(70_000) },
        },
        413,
        /over the limit/,
      ],
    ];
    for (const [body, status, pattern] of refusals) {
      const answer = await call(service, "notifications/messages", "POST", body);
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assert.equal(answer.contentType, "application/problem+json");
      assert.match(JSON.stringify(answer.body), pattern);
    }
    assert.equal(await count(), before, "refusals queued nothing");

    // Only the service role enqueues; the team reads dead letters.
    assert.equal((await call(anon, "notifications/messages", "POST", {})).status, 401);
    assert.equal((await call(anon, "notifications/dead")).status, 401);

    // Publish routes an event.
    const published = await call(service, "notifications/events", "POST", {
      event: "alert.firing",
      payload: alertGroup("00000000000000aa"),
      attributes: { severity: "critical" },
      message_id: "alert-aa",
    });
    assert.equal(published.status, 202);
    assert.equal(published.body.queued, 2);
    await until(() => receivers.pagerduty.accepted().length === 1, "PagerDuty");

    // A dead letter: listed, its attempts shown, retried once the receiver is back.
    receivers.webhook.setPlan(() => ({ status: 410, body: "gone" }));
    const doomed = await call(service, "notifications/messages", "POST", {
      channel: "webhook",
      destination: "partner",
      template: "stock.low",
      payload: stockPayload(4),
      message_id: "http-dead",
    });
    await until(
      async () =>
        (await sql`select status from notify.messages where message_id = 'http-dead'`)[0].status ===
          "dead",
      "the dead letter",
    );
    const dead = await call(service, "notifications/dead?channel=webhook");
    assert.equal(dead.status, 200);
    assert.deepEqual(dead.body.data.map((m: { message_id: string }) => m.message_id), [
      "http-dead",
    ]);
    assert.equal(dead.body.data[0].payload, undefined, "the list leaves payloads out");
    const detail = await call(service, `notifications/messages/${doomed.body.id}`);
    assert.equal(detail.body.message.status, "dead");
    assert.equal(detail.body.attempts.length, 1);
    assert.equal(detail.body.attempts[0].http_status, 410);
    assert.equal(detail.body.attempts[0].outcome, "permanent");

    receivers.webhook.setPlan(() => ({ status: 200 }));
    const retried = await call(service, `notifications/messages/${doomed.body.id}/retry`, "POST");
    assert.equal(retried.status, 200);
    await until(
      async () =>
        (await sql`select status from notify.messages where message_id = 'http-dead'`)[0].status ===
          "delivered",
      "the retried message",
    );
    const again = await call(service, `notifications/messages/${doomed.body.id}/retry`, "POST");
    assert.equal(again.status, 409);
    assert.equal(again.contentType, "application/problem+json");
    const missing = await call(service, `notifications/messages/${crypto.randomUUID()}`);
    assert.equal(missing.status, 404);
    const all = await call(service, "notifications/dead/retry", "POST", {});
    assert.deepEqual(all.body, { retried: 0 });

    // An order placed through the api: its confirmation was queued in the order's transaction
    // and the api asked for delivery at once.
    const userId = crypto.randomUUID();
    const email = `buyer.${userId.slice(0, 8)}@example.com`;
    await sql`insert into auth.users (id, aud, role, email, raw_user_meta_data)
              values (${userId}, 'authenticated', 'authenticated', ${email}, '{"full_name": "Léa"}')`;
    const [category] = await sql`insert into public.categories (name, slug)
                                 values ('Notify HTTP', ${`notify-http-${
      userId.slice(0, 8)
    }`}) returning id`;
    const sku = `NH-${userId.slice(0, 8).toUpperCase()}`;
    const [product] = await sql`insert into public.products (sku, name, price_cents, category_id)
                                values (${sku}, 'Théière <fonte>', 3450, ${category.id}) returning id`;
    await sql`insert into public.inventory (product_id, on_hand) values (${product.id}, 100)`;
    const token = await server.tokenFor({ id: userId, email });
    const buyer = createClient(server.url, server.anonKey, {
      ...opts,
      global: { headers: { authorization: `Bearer ${token}` } },
    });
    const placed = await call(buyer, "api/v1/orders", "POST", { items: [{ sku, quantity: 2 }] });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    await until(
      () => receivers.resend.accepted().some((r) => r.body.includes(email)),
      "the order confirmation",
    );
    const mail = receivers.resend.accepted().find((r) => r.body.includes(email))!;
    const sent = JSON.parse(mail.body);
    const confirmation = Array.isArray(sent)
      ? sent.find((e: { to: string[] }) => e.to[0] === email)
      : sent;
    assert.match(confirmation.subject, new RegExp(`#${placed.body.id}`));
    assert.ok(confirmation.html.includes("Théière &lt;fonte&gt;"), "values are HTML-escaped");
    assert.ok(
      confirmation.text.includes("Théière <fonte>"),
      "the plain-text part keeps them as written",
    );

    // The scheduled job's delivery run, as pg_cron + pg_net (or the dev scheduler) calls it.
    const run = await call(service, "notifications/deliver", "POST", { budget_ms: 1000 });
    assert.equal(run.status, 200);
    assert.equal(typeof run.body.claimed, "number");
    // An operator's `curl -X POST` sends no body at all.
    const bare = await fetch(`${server.url}/functions/v1/notifications/deliver`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.serviceRoleKey}` },
    });
    assert.equal(bare.status, 200);
    assert.equal(typeof (await bare.json()).claimed, "number");
    const badBudget = await call(service, "notifications/deliver", "POST", { budget_ms: "soon" });
    assert.equal(badBudget.status, 422);
  } finally {
    await server.stop();
    await closeReceivers(receivers);
    await restoreDefaults(sql);
    await sql.end();
  }
});
