/**
 * End to end on the local stack: the shop has four weeks of orders at this time of the week, then
 * orders stop. The dev scheduler runs the evaluate-alerts job every minute (the same job row pg_cron
 * runs hosted), the shipped OrderDrop rule goes pending then firing, its notification goes through
 * the outbox, and the notifications function (run by the same scheduler) delivers it to a Slack
 * recorder: once, however many evaluations follow. Takes about three minutes of real time: the
 * evaluation is per minute and OrderDrop has `for: 1m`.
 */
import "../notifications/_env.ts";
import assert from "node:assert/strict";
import { startDevServer, testDatabaseUrl } from "../_support/dev_server.ts";
import {
  closeReceivers,
  restoreDefaults,
  startReceivers,
  testSql,
  useReceivers,
} from "../notifications/_support.ts";
import { resetAlerting } from "./support.ts";

const MIN = 60_000;

Deno.test({
  name: "a drop in orders fires OrderDrop and Slack receives it once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const sql = testSql();
    const receivers = await startReceivers();
    let server: Awaited<ReturnType<typeof startDevServer>> | undefined;
    try {
      await resetAlerting(sql);
      await useReceivers(sql, receivers);
      // The receivers' settings shorten the lease for workers driven with short send timeouts;
      // the dev server's worker runs with its production timeouts, so the production lease too.
      await sql`update notify.settings set lease = interval '60 seconds' where id`;
      // 20 orders a minute at this time of the week (±30 minutes) over the last four weeks, none
      // in the last 20 minutes: the drop.
      const now = Date.now();
      // History, not new orders: without the triggers that announce each order as it is placed.
      await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`
          insert into public.orders (status, currency, subtotal_cents, shipping_cents, total_cents,
            item_count, placed_at)
          select 'paid', 'EUR', 2500, 0, 2500, 1,
            ${new Date(now)}::timestamptz - w * interval '1 week' + m * interval '1 minute'
              + n * interval '2 seconds'
          from generate_series(1, 4) w, generate_series(-30, 30) m, generate_series(1, 20) n`;
      });
      const [{ recent }] = await sql`
        select count(*)::int as recent from public.orders
        where placed_at > ${new Date(now - 20 * MIN)}`;
      assert.ok(recent < 10, `${recent} orders in the last 20 minutes`);

      server = await startDevServer({ dbUrl: testDatabaseUrl() });
      // The dev stack syncs the repository's notification routes when it starts: point them at
      // the recorders again (the server already has their secrets in its environment).
      await useReceivers(sql, receivers);
      await sql`update notify.settings set lease = interval '60 seconds' where id`;
      const orderDrop = () =>
        receivers.slack.accepted().filter((r) => r.body.includes("OrderDrop"));
      const deadline = Date.now() + 5 * MIN;
      while (orderDrop().length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 2_000));
      }
      if (orderDrop().length !== 1) {
        const state = await sql`
          select (select json_agg(s) from alerting.series s where rule = 'OrderDrop') as series,
            (select json_agg(r) from alerting.rule_status r) as rules,
            (select json_agg(n) from alerting.notifications n) as notifications,
            (select json_agg(json_build_object('status', m.status, 'channel', m.channel,
              'error', m.last_error)) from notify.messages m where m.event like 'alert.%') as messages`;
        assert.fail(`${orderDrop().length} OrderDrop messages; ${JSON.stringify(state)}`);
      }
      // Two more evaluations and deliveries: the alert keeps firing, nothing is sent again.
      await new Promise((resolve) => setTimeout(resolve, 2 * MIN + 10_000));
      assert.equal(orderDrop().length, 1);

      const message = JSON.parse(orderDrop()[0].body);
      assert.match(JSON.stringify(message), /Orders dropped below half/);
      const history = await sql`
        select from_state, to_state from alerting.history where alertname = 'OrderDrop' order by id`;
      assert.deepEqual(history.map((h) => `${h.from_state}>${h.to_state}`), [
        "inactive>pending",
        "pending>firing",
      ]);
      const notes = await sql`
        select status, queued from alerting.notifications
        where group_key like '%alertname="OrderDrop"%'`;
      assert.equal(notes.length, 1);
      const [series] = await sql`select state from alerting.series where rule = 'OrderDrop'`;
      assert.equal(series.state, "firing");
      // The evaluations ran every minute, each once.
      const [{ evaluations }] =
        await sql`select count(*)::int as evaluations from alerting.evaluations`;
      assert.ok(evaluations >= 4, `${evaluations} evaluations`);
    } finally {
      await server?.stop();
      await sql`delete from public.orders where placed_at < now() - interval '6 days'
        and total_cents = 2500 and customer_id is null`;
      await restoreDefaults(sql);
      await closeReceivers(receivers);
      await sql.end();
    }
  },
});
