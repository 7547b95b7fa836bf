/**
 * `deno task bench:notify [--pg-port P] [--orders N] [--messages N]`: on a throwaway local
 * PostgreSQL 15 (data under .local/notify-bench-postgres), measures
 *
 * 1. what queuing the order confirmation adds to `shop_api.place_order`: the same placements with
 *    the `orders_publish_placed` trigger on and off, interleaved in rounds within one run, p50 and
 *    p95 of each (client round trip, commit included, where the deferred trigger runs);
 * 2. delivery throughput per channel to local receivers that answer at once: webhooks (signed),
 *    email through the Resend SDK (one batch per claim of 50), PagerDuty, and Slack through the shared rate
 *    limit (one message a second per webhook, a burst of two) with one and with four webhooks.
 *
 * Metrics are on (flushed to the cluster's metrics store) and the Slack limit uses the Postgres
 * rate-limit backend, as in production. Writes docs/benchmarks/notifications.md.
 * @module
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { runMain, StackError } from "../lib/command.ts";
import { applyCompat, migrateUrl } from "../lib/migrate.ts";
import { syncNotifications } from "../lib/notify_sync.ts";
import { clusterDataDir, PgCluster } from "../lib/pg_cluster.ts";
import { seedDatabase, seedPlan } from "../lib/seed.ts";
import { postgresRunner } from "../lib/sql_runner.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "pg-port": { type: "string", default: "54372" },
      orders: { type: "string", default: "3000" },
      messages: { type: "string", default: "2000" },
      out: { type: "string", default: `${ROOT}docs/benchmarks/notifications.md` },
    },
  });
  const port = Number(values["pg-port"]);
  const orders = Number(values.orders);
  const messages = Number(values.messages);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StackError("bad --pg-port");
  if (!Number.isInteger(orders) || orders < 100) throw new StackError("--orders must be >= 100");
  if (!Number.isInteger(messages) || messages < 100) {
    throw new StackError("--messages must be >= 100");
  }

  const cluster = new PgCluster({ dataDir: clusterDataDir("notify-bench-postgres"), port });
  await cluster.destroy();
  await cluster.start();
  const url = cluster.url();
  const started = Date.now();
  try {
    await applyCompat(url);
    await migrateUrl(url);
    const runner = postgresRunner(url);
    try {
      await seedDatabase(runner, seedPlan(1, 7));
    } finally {
      await runner.close();
    }
    // The worker modules read these when they load: metrics flush to this cluster.
    Deno.env.set("COMPTOIR_DB_URL", url);
    Deno.env.set("COMPTOIR_METRICS_FLUSH_MS", "1000");
    const enqueue = await benchEnqueue(url, orders);
    console.log(
      `place_order p50 ${enqueue.on.p50.toFixed(3)} ms with, ${
        enqueue.off.p50.toFixed(3)
      } ms without`,
    );
    const delivery = await benchDelivery(url, messages);
    await Deno.writeTextFile(
      values.out,
      render({ orders, messages, enqueue, delivery, seconds: (Date.now() - started) / 1000 }),
    );
    console.log(`wrote ${values.out}`);
  } finally {
    await cluster.destroy();
  }
});

interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  mean: number;
}

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    n: sorted.length,
    p50: at(0.5),
    p95: at(0.95),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

interface EnqueueResult {
  on: Percentiles;
  off: Percentiles;
  rounds: number;
  queued: number;
}

async function benchEnqueue(url: string, total: number): Promise<EnqueueResult> {
  const sql = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  try {
    await sql`update private.order_limits set max_pending_orders = 10000, max_pending_units = 10000000 where id`;
    await sql`update public.inventory set on_hand = 1000000000, reserved = 0`;
    const customers =
      (await sql<{ id: string }[]>`select id from public.customers order by id limit 50`)
        .map((c) => c.id);
    const products = (await sql<{ id: number }[]>`
      select p.id from public.products p where p.active order by p.id limit 20`).map((p) => p.id);
    const samples = { on: [] as number[], off: [] as number[] };
    const rounds = 10;
    const perRound = Math.floor(total / rounds / 2);
    let n = 0;
    const place = async () => {
      const items = [
        { product_id: products[n % products.length], quantity: 1 },
        { product_id: products[(n + 7) % products.length], quantity: 2 },
      ];
      const customer = customers[n++ % customers.length];
      const t0 = performance.now();
      await sql`select * from shop_api.place_order(${customer}::uuid, ${sql.json(items)})`;
      return performance.now() - t0;
    };
    // Warm-up: plans cached, buffers hot, for both modes.
    for (let i = 0; i < 100; i++) await place();
    for (let round = 0; round < rounds; round++) {
      for (const mode of round % 2 === 0 ? ["on", "off"] as const : ["off", "on"] as const) {
        await sql.unsafe(
          `alter table public.orders ${
            mode === "on" ? "enable" : "disable"
          } trigger orders_publish_placed`,
        );
        for (let i = 0; i < perRound; i++) samples[mode].push(await place());
      }
    }
    await sql`alter table public.orders enable trigger orders_publish_placed`;
    const [{ queued }] = await sql<{ queued: number }[]>`
      select count(*)::int as queued from notify.messages where template = 'order.confirmation'`;
    await sql`delete from notify.messages`;
    return { on: percentiles(samples.on), off: percentiles(samples.off), rounds, queued };
  } finally {
    await sql.end();
  }
}

interface DeliveryRow {
  label: string;
  messages: number;
  seconds: number;
  requests: number;
  limit: string;
}

/** A receiver answering at once, counting requests. */
function receiver(answer: (req: Request, body: string) => Response) {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    requests++;
    return answer(req, await req.text());
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests: () => requests,
    close: () => server.shutdown(),
  };
}

async function benchDelivery(url: string, total: number): Promise<DeliveryRow[]> {
  const { createDb } = await import("../../supabase/functions/_shared/db/client.ts");
  const { PostgresRateLimitBackend } = await import(
    "../../supabase/functions/_shared/rate_limit/postgres_backend.ts"
  );
  const { deliverDue } = await import("../../supabase/functions/notifications/worker.ts");
  const { parseNotificationsConfig } = await import(
    "../../supabase/functions/notifications/config.ts"
  );
  const ok = () => new Response("ok");
  const slack = receiver(ok);
  const webhook = receiver(() => new Response(null, { status: 204 }));
  const pagerduty = receiver(() => Response.json({ status: "success" }, { status: 202 }));
  const resend = receiver((req, body) =>
    Response.json(
      new URL(req.url).pathname === "/emails/batch"
        ? { data: (JSON.parse(body) as unknown[]).map(() => ({ id: crypto.randomUUID() })) }
        : { id: crypto.randomUUID() },
    )
  );
  Deno.env.set("COMPTOIR_NOTIFY_BENCH_SLACK_URL", `${slack.url}/services/T/B/x`);
  Deno.env.set("COMPTOIR_NOTIFY_BENCH_WEBHOOK_URL", `${webhook.url}/hook`);
  Deno.env.set("COMPTOIR_NOTIFY_BENCH_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  Deno.env.set("COMPTOIR_NOTIFY_BENCH_PD_KEY", "R0UT1NGK3Y0000000000000000000000");
  Deno.env.set("RESEND_BASE_URL", resend.url);
  Deno.env.set("RESEND_API_KEY", "re_bench");
  const loopback = { allow_private_networks: ["loopback"] };
  const slackDestinations = Object.fromEntries(
    ["s1", "s2", "s3", "s4"].map((
      n,
    ) => [n, { url_env: "COMPTOIR_NOTIFY_BENCH_SLACK_URL", ...loopback }]),
  );
  const runner = postgresRunner(url);
  try {
    await syncNotifications(
      runner,
      parseNotificationsConfig({
        email: { from: "Comptoir <bench@comptoir.invalid>" },
        destinations: {
          slack: slackDestinations,
          webhook: {
            w: {
              url_env: "COMPTOIR_NOTIFY_BENCH_WEBHOOK_URL",
              secret_env: "COMPTOIR_NOTIFY_BENCH_WEBHOOK_SECRET",
              ...loopback,
            },
          },
          pagerduty: {
            p: {
              routing_key_env: "COMPTOIR_NOTIFY_BENCH_PD_KEY",
              url: `${pagerduty.url}/v2/enqueue`,
              ...loopback,
            },
          },
          email: {},
        },
        routes: [],
      }),
    );
  } finally {
    await runner.close();
  }
  const sql = postgres(url, { max: 2, prepare: false, onnotice: () => {} });
  const db = createDb({ url, max: 4 });
  const rateLimits = new PostgresRateLimitBackend({ sql: db });
  const stock = (i: number) => ({
    product: { id: i, sku: `SKU-${i}`, name: `Product ${i}` },
    available: 1,
    threshold: 10,
  });
  const alert = (i: number) => ({
    group_key: `g${i}`,
    status: "firing",
    common_labels: { alertname: "Bench", severity: "critical" },
    alerts: [{
      fingerprint: i.toString(16).padStart(16, "0"),
      status: "firing",
      labels: { alertname: "Bench" },
      annotations: { summary: `Bench ${i}` },
      starts_at: "2026-12-04T09:00:00Z",
    }],
  });
  const rows: DeliveryRow[] = [];
  const run = async (
    label: string,
    limit: string,
    count: number,
    enqueue: (i: number) => Promise<unknown>,
    requests: () => number,
  ) => {
    await sql`delete from notify.messages`;
    await sql`delete from rate_limit.counters where key like 'notify_slack:%'`;
    for (let i = 1; i <= count; i++) await enqueue(i);
    const before = requests();
    const t0 = performance.now();
    for (;;) {
      await deliverDue({ sql: db, rateLimits, log: () => {} });
      const [{ open }] = await sql<{ open: number }[]>`
        select count(*)::int as open from notify.messages where status <> 'delivered'`;
      if (open === 0) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    rows.push({ label, messages: count, seconds, requests: requests() - before, limit });
    console.log(
      `${label}: ${count} in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(1)}/s)`,
    );
  };
  try {
    await run(
      "webhook (signed, one subscriber)",
      "none",
      total,
      (i) => sql`select notify.enqueue('webhook', 'w', 'stock.low', ${sql.json(stock(i))})`,
      webhook.requests,
    );
    await run(
      "email (Resend SDK, one batch per claim of 50)",
      "none",
      total,
      (i) =>
        sql`select notify.enqueue('email', ${`c${i}@example.com`}, 'stock.low', ${
          sql.json(stock(i))
        })`,
      resend.requests,
    );
    await run(
      "pagerduty (Events API v2)",
      "none",
      Math.floor(total / 2),
      (i) => sql`select notify.enqueue('pagerduty', 'p', 'alert.firing', ${sql.json(alert(i))})`,
      pagerduty.requests,
    );
    await run(
      "slack (one webhook)",
      "1/s per webhook, burst 2",
      12,
      (i) => sql`select notify.enqueue('slack', 's1', 'stock.low', ${sql.json(stock(i))})`,
      slack.requests,
    );
    await run(
      "slack (four webhooks)",
      "1/s per webhook, burst 2",
      48,
      (i) =>
        sql`select notify.enqueue('slack', ${`s${(i % 4) + 1}`}, 'stock.low', ${
          sql.json(stock(i))
        })`,
      slack.requests,
    );
  } finally {
    await sql.end();
    await db.end();
    await Promise.all([slack.close(), webhook.close(), pagerduty.close(), resend.close()]);
  }
  return rows;
}

function render(
  { orders, messages, enqueue, delivery, seconds }: {
    orders: number;
    messages: number;
    enqueue: EnqueueResult;
    delivery: DeliveryRow[];
    seconds: number;
  },
): string {
  const ms = (v: number) => v.toFixed(3);
  const delta = (a: number, b: number) => `${a - b >= 0 ? "+" : ""}${(a - b).toFixed(3)}`;
  const rows = delivery.map((r) =>
    `| ${r.label} | ${r.messages} | ${r.requests} | ${r.seconds.toFixed(2)} | ${
      (r.messages / r.seconds).toFixed(1)
    } | ${r.limit} |`
  );
  return `# Notifications outbox

Written by \`deno task bench:notify\` (scripts/bench/notifications.ts) on ${
    new Date().toISOString()
  },
${
    seconds.toFixed(0)
  } s in all, on a throwaway local PostgreSQL 15 (demo data of \`seedPlan(1)\`), with
metrics on (flushed to the database every second) and the Slack limit in the Postgres rate-limit
store. Machine: 2 cores shared with other work, loopback; single runs are noisy, compare the
figures of one report with each other rather than across reports.

## What queuing the confirmation adds to place_order

${orders} placements of two lines each by one client, in ${enqueue.rounds} rounds that alternate
the \`orders_publish_placed\` trigger on and off (the mode that goes first alternates too), after 100
warm-up placements. Times are client round trips of \`select * from shop_api.place_order(…)\`,
commit included (the deferred trigger runs at commit). ${enqueue.queued} confirmations were queued
with the trigger on.

| trigger | placements | p50 (ms) | p95 (ms) | mean (ms) |
| ------- | ---------- | -------- | -------- | --------- |
| on      | ${enqueue.on.n} | ${ms(enqueue.on.p50)} | ${ms(enqueue.on.p95)} | ${
    ms(enqueue.on.mean)
  } |
| off     | ${enqueue.off.n} | ${ms(enqueue.off.p50)} | ${ms(enqueue.off.p95)} | ${
    ms(enqueue.off.mean)
  } |
| added   |  | ${delta(enqueue.on.p50, enqueue.off.p50)} | ${
    delta(enqueue.on.p95, enqueue.off.p95)
  } | ${delta(enqueue.on.mean, enqueue.off.mean)} |

Target: the confirmation adds at most 0.3 ms at p50.

## Delivery throughput per channel

Messages queued first, then delivered by \`deliverDue()\` runs (batches of 50, 8 destinations at
once) until none is left, to local receivers that answer at once. Requests counts what the
receiver got (a Resend batch carries the first attempts of one claim).

| channel | messages | requests | seconds | messages/s | channel limit |
| ------- | -------- | -------- | ------- | ---------- | ------------- |
${rows.join("\n")}

With receivers that answer at once, webhooks, email and PagerDuty are bound by the worker and the
database (a claim, a signature or a rendering, and a settle per message). Slack is bound by its own
limit: about one message a second per webhook after the burst, however many webhooks share a run.
${messages} was the message count asked for the unlimited channels (half of it for PagerDuty).
`;
}
