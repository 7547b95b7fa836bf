import assert from "node:assert/strict";
import { FakeClock } from "@shared/clock.ts";
import { evaluateAlerts } from "../../supabase/functions/alerts/evaluator.ts";
import {
  alertmanagerPayload,
  ingestAlertmanager,
} from "../../supabase/functions/alerts/alertmanager_webhook.ts";
import { fingerprint } from "../../supabase/functions/alerts/fingerprint.ts";
import { parseMatchers } from "../../supabase/functions/alerts/matchers.ts";
import { config, connect, MIN, resetAlerting, rule, T0, writeSignal } from "./support.ts";

const sql = connect();

async function counts() {
  const [row] = await sql`
    select (select count(*) from alerting.notifications)::int as notifications,
      (select count(*) from alerting.history)::int as history,
      (select count(*) from alerting.evaluations)::int as evaluations,
      (select coalesce(json_agg(json_build_object('state', state, 'fp', fingerprint) order by fingerprint), '[]')
        from alerting.series) as series`;
  return row as { notifications: number; history: number; evaluations: number; series: unknown };
}

/** Evaluates at `at` with a fresh evaluator each time (a restart between every call). */
function evaluateAt(cfg: ReturnType<typeof config>, at: number) {
  return evaluateAlerts({ sql, config: cfg, clock: new FakeClock(at) });
}

Deno.test({
  name: "evaluateAlerts() waits `for`, fires once and never twice for the same instant",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const cfg = config([rule({ for: "2m" })]);
    const states: string[] = [];
    for (let i = 0; i < 4; i++) {
      await writeSignal(sql, "shop-a", T0 + i * MIN, 3);
      const outcome = await evaluateAt(cfg, T0 + i * MIN + 5_000);
      assert.equal(outcome.alreadyEvaluated, false);
      const [s] = await sql`select state from alerting.series`;
      states.push(s.state);
    }
    assert.deepEqual(states, ["pending", "pending", "firing", "firing"]);
    const before = await counts();
    assert.equal(before.notifications, 1, "one notification: the group's first");
    // The same instant again (a retry of the job, a second scheduler): nothing changes.
    const again = await evaluateAt(cfg, T0 + 3 * MIN + 40_000);
    assert.equal(again.alreadyEvaluated, true);
    assert.deepEqual(await counts(), before);
    const [n] = await sql`select status, alerts, message_id from alerting.notifications`;
    assert.equal(n.status, "firing");
    assert.match(n.message_id, /^alert-[0-9a-f]{16}-2026-03-02T10:02:00\.000Z$/);
    const [alert] = await sql`select labels, annotations, sources from alerting.alerts`;
    assert.equal(alert.labels.alertname, "TestDrop");
    assert.equal(alert.annotations.summary, "Value 3 on shop-a");
    assert.deepEqual(alert.sources, ["rule"]);
  },
});

Deno.test({
  name: "evaluateAlerts() resolves once, and a restart mid-firing sends nothing twice",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const cfg = config([rule({})]);
    const values = [3, 3, 3, 50, 50, 50];
    for (let i = 0; i < values.length; i++) {
      await writeSignal(sql, "shop-a", T0 + i * MIN, values[i]);
      await evaluateAt(cfg, T0 + i * MIN);
    }
    const rows = await sql`select status, alerts from alerting.notifications order by at`;
    assert.deepEqual(rows.map((r) => r.status), ["firing", "resolved"]);
    assert.equal((await sql`select count(*)::int as n from alerting.alerts`)[0].n, 0);
    const history = await sql`select from_state, to_state from alerting.history order by id`;
    assert.deepEqual(history.map((h) => `${h.from_state}>${h.to_state}`), [
      "inactive>firing",
      "firing>resolved",
      "resolved>inactive",
    ]);
  },
});

Deno.test({
  name: "evaluateAlerts() run by two evaluators at once evaluates the instant once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const cfg = config([rule({})]);
    await writeSignal(sql, "shop-a", T0, 1);
    await writeSignal(sql, "shop-b", T0, 2);
    const other = connect();
    try {
      const [a, b] = await Promise.all([
        evaluateAt(cfg, T0),
        evaluateAlerts({ sql: other, config: cfg, clock: new FakeClock(T0 + 1_000) }),
      ]);
      assert.deepEqual([a.alreadyEvaluated, b.alreadyEvaluated].sort(), [false, true]);
      const c = await counts();
      assert.equal(c.evaluations, 1);
      assert.equal(c.notifications, 1, "one group: one notification for both series");
      assert.equal(c.history, 2);
    } finally {
      await other.end();
    }
  },
});

Deno.test({
  name: "evaluateAlerts() catches up after downtime with one notification, not a storm",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const cfg = config([rule({ for: "3m" })], { catch_up: 10 });
    await writeSignal(sql, "shop-a", T0, 50);
    await evaluateAt(cfg, T0);
    // Down for 30 minutes, the signal low since minute 1.
    for (let i = 1; i <= 30; i++) await writeSignal(sql, "shop-a", T0 + i * MIN, 2);
    const outcome = await evaluateAt(cfg, T0 + 30 * MIN);
    assert.equal(outcome.replayed, 10, "the last 10 missed minutes, then this one");
    const [s] = await sql`select state, active_at from alerting.series`;
    assert.equal(s.state, "firing", "the replayed minutes gave the breach its `for`");
    assert.equal(new Date(s.active_at).getTime(), T0 + 20 * MIN);
    const notes = await sql`select at from alerting.notifications`;
    assert.equal(notes.length, 1);
    assert.equal(new Date(notes[0].at).getTime(), T0 + 30 * MIN);
  },
});

Deno.test({
  name: "evaluateAlerts() mutes silenced alerts and inhibited symptoms",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const cfg = config([
      rule({ name: "Cause", labels: { severity: "critical", team: "platform" } }),
      rule({ name: "Symptom", labels: { severity: "warning", team: "business" } }),
      rule({ name: "Silenced", labels: { severity: "warning", team: "business" } }),
    ], {
      inhibit_rules: [{
        source_matchers: ['alertname="Cause"'],
        target_matchers: ['alertname="Symptom"'],
      }],
    });
    await sql`
      insert into alerting.silences (matchers, starts_at, ends_at, created_by, comment)
      values (${sql.json(parseMatchers('{alertname="Silenced"}') as never)}, ${new Date(T0 - MIN)},
        ${new Date(T0 + 2 * MIN)}, 'test', 'deploy window')`;
    for (let i = 0; i < 4; i++) {
      await writeSignal(sql, "shop-a", T0 + i * MIN, 1);
      await evaluateAt(cfg, T0 + i * MIN);
    }
    const sent = await sql`select group_key, at from alerting.notifications order by at, group_key`;
    assert.deepEqual(sent.map((n) => [n.group_key, (new Date(n.at).getTime() - T0) / MIN]), [
      ['{}:{alertname="Cause"}', 0],
      // The silence ends at minute 2: the alert it muted is notified then.
      ['{}:{alertname="Silenced"}', 2],
    ]);
    const muted = await sql`select alertname, muted_by from alerting.alerts order by alertname`;
    assert.deepEqual(muted.map((m) => [m.alertname, m.muted_by]), [
      ["Cause", null],
      ["Silenced", null],
      ["Symptom", "inhibition"],
    ]);
  },
});

Deno.test({
  name: "evaluateAlerts() turns a silent series into a no-data alert",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const cfg = config([rule({ no_data_for: "2m" })]);
    await writeSignal(sql, "shop-a", T0, 50);
    for (let i = 0; i <= 3; i++) await evaluateAt(cfg, T0 + i * MIN);
    const [s] = await sql`select state from alerting.series`;
    assert.equal(s.state, "nodata");
    const [alert] = await sql`select labels, annotations, status from alerting.alerts`;
    assert.equal(alert.labels.nodata, "true");
    assert.match(alert.annotations.summary, /^No data: /);
    const [n] = await sql`select status from alerting.notifications`;
    assert.equal(n.status, "firing");
    // Data again: the no-data alert resolves and is notified as resolved.
    for (let i = 4; i <= 9; i++) {
      await writeSignal(sql, "shop-a", T0 + i * MIN, 50);
      await evaluateAt(cfg, T0 + i * MIN);
    }
    const statuses = await sql`select status from alerting.notifications order by at`;
    assert.deepEqual(statuses.map((r) => r.status), ["firing", "resolved"]);
  },
});

Deno.test({
  name: "evaluateAlerts() isolates a failing signal: its rule reports the error, others run",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const cfg = config([
      rule({
        name: "Broken",
        signal: { sql: "select 1 / (extract(epoch from $1::timestamptz) * 0)::int as value" },
      }),
      rule({}),
      rule({ name: "Timeless", signal: { sql: "select 3::float8 as value" } }),
    ]);
    await writeSignal(sql, "shop-a", T0, 1);
    const outcome = await evaluateAt(cfg, T0);
    const timeless = outcome.rules.find((r) => r.rule === "Timeless")!;
    assert.deepEqual([timeless.health, timeless.firing], ["ok", 1], "a query without $1 runs too");
    const broken = outcome.rules.find((r) => r.rule === "Broken")!;
    assert.equal(broken.health, "error");
    assert.match(broken.error!, /SQLSTATE 22012/);
    assert.equal(outcome.rules.find((r) => r.rule === "TestDrop")!.health, "ok");
    const status = await sql`select rule, health from alerting.rule_status order by rule`;
    assert.deepEqual(status.map((s) => [s.rule, s.health]), [
      ["Broken", "error"],
      ["TestDrop", "ok"],
      ["Timeless", "ok"],
    ]);
  },
});

Deno.test({
  name: "evaluateAlerts() writes nothing when publishing fails mid-way, and recovers alone",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const [{ n: routes }] = await sql`
      select count(*)::int as n from notify.routes where event = 'alert.firing' and enabled`;
    assert.ok(routes > 0, "the shipped outbox routes alert.firing");
    const cfg = config([rule({
      annotations: {
        summary: "x".repeat(3000),
        description: "d",
        runbook_url: "https://example.org/r",
      },
    })]);
    await writeSignal(sql, "shop-a", T0, 1);
    // The outbox refuses the message (over its payload limit): notify.publish raises inside the
    // evaluation's transaction, after the series, history and alerts were written.
    const [settings] = await sql`select max_payload_bytes from notify.settings`;
    await sql`update notify.settings set max_payload_bytes = 1024`;
    try {
      await assert.rejects(evaluateAt(cfg, T0));
    } finally {
      await sql`update notify.settings set max_payload_bytes = ${settings.max_payload_bytes}`;
    }
    const c = await counts();
    assert.deepEqual([c.evaluations, c.history, c.notifications, c.series], [0, 0, 0, []]);
    assert.equal((await sql`select count(*)::int as n from alerting.alerts`)[0].n, 0);
    // The next run evaluates the same instant from scratch and publishes.
    const outcome = await evaluateAt(cfg, T0 + 10_000);
    assert.equal(outcome.alreadyEvaluated, false);
    assert.equal(outcome.notifications.length, 1);
    assert.ok(outcome.notifications[0].queued >= 1);
  },
});

Deno.test({
  name: "evaluateAlerts() loses nothing when the database drops it mid-transaction",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    await writeSignal(sql, "shop-a", T0, 1);
    // The first rule fires and is written; then the connection dies under the second one.
    const dying = config([
      rule({}),
      rule({
        name: "Killer",
        signal: { sql: "select pg_terminate_backend(pg_backend_pid())::int::float8 as value" },
      }),
    ]);
    const own = connect();
    try {
      await assert.rejects(evaluateAlerts({ sql: own, config: dying, clock: new FakeClock(T0) }));
      const c = await counts();
      assert.deepEqual([c.evaluations, c.history, c.notifications, c.series], [0, 0, 0, []]);
      // The same process evaluates the instant again once the database answers: reconnected.
      const outcome = await evaluateAlerts({
        sql: own,
        config: config([rule({})]),
        clock: new FakeClock(T0),
      });
      assert.equal(outcome.alreadyEvaluated, false);
      assert.equal(outcome.notifications.length, 1);
    } finally {
      await own.end();
    }
  },
});

Deno.test({
  name: "ingestAlertmanager() merges with the rule's alert of the same labels",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const cfg = config([rule({ labels: { severity: "critical", team: "business" } })]);
    await writeSignal(sql, "shop-a", T0, 1);
    await evaluateAt(cfg, T0);
    const labels = {
      alertname: "TestDrop",
      series: "shop-a",
      severity: "critical",
      team: "business",
    };
    const body = alertmanagerPayload.parse({
      version: "4",
      groupKey: '{}:{alertname="TestDrop"}',
      truncatedAlerts: 0,
      status: "firing",
      receiver: "comptoir-alerts",
      groupLabels: { alertname: "TestDrop" },
      commonLabels: labels,
      commonAnnotations: {},
      externalURL: "http://alertmanager:9093",
      alerts: [{
        status: "firing",
        labels,
        annotations: { summary: "from prometheus" },
        startsAt: new Date(T0).toISOString(),
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus:9090/graph",
        fingerprint: fingerprint(labels),
      }],
    });
    const first = await ingestAlertmanager(sql, body);
    assert.deepEqual(first, { received: 1, changed: 0, deduplicated: 1 });
    const rows = await sql`select fingerprint, sources from alerting.alerts`;
    assert.equal(rows.length, 1);
    assert.deepEqual(rows[0].sources.sort(), ["alertmanager", "rule"]);
    assert.equal(rows[0].fingerprint, fingerprint(labels));
    // Alertmanager resolves it while the rule still fires: it stays firing, from the rule.
    const resolved = alertmanagerPayload.parse({
      ...body,
      status: "resolved",
      alerts: [{ ...body.alerts[0], status: "resolved", endsAt: new Date(T0 + MIN).toISOString() }],
    });
    await ingestAlertmanager(sql, resolved);
    const [after] = await sql`select status, sources from alerting.alerts`;
    assert.deepEqual([after.status, after.sources], ["firing", ["rule"]]);
  },
});

Deno.test({
  name: "evaluateAlerts() scales a seasonal rule by the day's level it recorded, across restarts",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await resetAlerting(sql);
    const WEEK = 7 * 86_400_000;
    const cfg = config([rule({
      kind: "seasonal",
      direction: "below",
      threshold: 3,
      weeks: 3,
      neighbours: 0,
      min_samples: 3,
      min_traffic: 5,
      min_relative_change: 0.25,
      counts: true,
      level_window: "20m",
      level_skip: "5m",
      level_min_samples: 5,
    })]);
    // 100 a minute at this time of the week over the last three weeks; today runs at 70 (a
    // holiday), then drops to 20 at minute 14.
    const states: string[] = [];
    for (let i = 0; i < 16; i++) {
      const at = T0 + i * MIN;
      for (let w = 1; w <= 3; w++) await writeSignal(sql, "shop-a", at - w * WEEK, 100);
      await writeSignal(sql, "shop-a", at, i < 14 ? 70 : 20);
      await evaluateAt(cfg, at + 5_000);
      const [s] = await sql`select state from alerting.series`;
      states.push(s.state);
    }
    // Without a level yet (fewer than 5 evaluations older than 5 minutes) 70 is a drop; from
    // minute 10 the level is 0.7, the holiday is the day's normal and the alert resolves; the
    // drop to 20 is unusual against both and fires at once (no `for`).
    assert.deepEqual(states.slice(0, 10), Array(10).fill("firing"));
    assert.deepEqual(states.slice(10, 14), ["resolved", "inactive", "inactive", "inactive"]);
    assert.deepEqual(states.slice(14), ["firing", "firing"]);
    const recorded = await sql`
      select count(*)::int as n, min(seasonal) as low, max(seasonal) as high
      from alerting.samples where rule = 'TestDrop'`;
    assert.deepEqual(recorded[0], { n: 16, low: 100, high: 100 });
  },
});

Deno.test({
  name: "close the alerting test connection",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await sql.end();
  },
});
