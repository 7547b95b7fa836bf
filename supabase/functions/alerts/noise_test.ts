import assert from "node:assert/strict";
import { fingerprint } from "./fingerprint.ts";
import { parseMatchers } from "./matchers.ts";
import { type ActiveAlert, type GroupState, planNotifications, type Route } from "./noise.ts";

const MIN = 60_000;
const route: Route = {
  groupBy: ["alertname"],
  groupWaitMs: 30_000,
  groupIntervalMs: 5 * MIN,
  repeatIntervalMs: 60 * MIN,
};

function alert(
  labels: Record<string, string>,
  status: "firing" | "resolved" = "firing",
): ActiveAlert {
  return {
    fingerprint: fingerprint(labels),
    labels,
    annotations: { summary: labels.alertname },
    status,
    startsAt: 0,
    endsAt: status === "resolved" ? MIN : null,
    value: 1,
  };
}

/** Runs the planner minute by minute over `alertsAt(minute)`, returning what went out. */
function replay(minutes: number, alertsAt: (m: number) => ActiveAlert[], extra = {}) {
  let groups: GroupState[] = [];
  const sent: { minute: number; status: string; count: number }[] = [];
  for (let m = 0; m < minutes; m++) {
    const plan = planNotifications({ now: m * MIN, alerts: alertsAt(m), groups, route, ...extra });
    groups = plan.groups;
    for (const n of plan.notifications) {
      sent.push({ minute: m, status: n.status, count: n.alerts.length });
    }
  }
  return sent;
}

Deno.test("planNotifications() waits group_wait, then sends one notification per group", () => {
  const a = alert({ alertname: "OrderDrop", shop: "a" });
  const b = alert({ alertname: "OrderDrop", shop: "b" });
  const first = planNotifications({ now: 0, alerts: [a, b], groups: [], route });
  assert.equal(first.notifications.length, 0, "inside group_wait");
  assert.equal(first.suppressed.group, 2);
  const second = planNotifications({ now: MIN, alerts: [a, b], groups: first.groups, route });
  assert.equal(second.notifications.length, 1);
  assert.equal(second.notifications[0].alerts.length, 2);
  assert.deepEqual(second.notifications[0].commonLabels, { alertname: "OrderDrop" });
  assert.equal(second.suppressed.group, 1);
});

Deno.test("planNotifications() holds an unchanged group until repeat_interval (cooldown)", () => {
  const a = alert({ alertname: "OrderDrop" });
  const sent = replay(130, () => [a]);
  assert.deepEqual(sent.map((s) => s.minute), [1, 61, 121]);
});

Deno.test("planNotifications() sends a change after group_interval and the resolution once", () => {
  const a = alert({ alertname: "OrderDrop", shop: "a" });
  const b = alert({ alertname: "OrderDrop", shop: "b" });
  const sent = replay(
    20,
    (m) => m < 3 ? [a] : m < 10 ? [a, b] : m < 12 ? [alert(a.labels, "resolved"), b] : [b],
  );
  assert.deepEqual(sent, [
    { minute: 1, status: "firing", count: 1 },
    { minute: 6, status: "firing", count: 2 },
    { minute: 11, status: "firing", count: 2 },
  ]);
});

Deno.test("planNotifications() gives the same message id for the same instant", () => {
  const a = alert({ alertname: "OrderDrop" });
  const once = planNotifications({
    now: MIN,
    alerts: [a],
    groups: [],
    route: { ...route, groupWaitMs: 0 },
  });
  const twice = planNotifications({
    now: MIN,
    alerts: [a],
    groups: [],
    route: { ...route, groupWaitMs: 0 },
  });
  assert.equal(once.notifications[0].messageId, twice.notifications[0].messageId);
  assert.match(once.notifications[0].messageId, /^alert-[0-9a-f]{16}-1970-01-01T00:01:00\.000Z$/);
});

Deno.test("planNotifications() mutes silenced alerts only inside the silence window", () => {
  const a = alert({ alertname: "OrderDrop", team: "business" });
  const silences = [{
    id: "s1",
    matchers: parseMatchers('{alertname="OrderDrop"}'),
    startsAt: 0,
    endsAt: 10 * MIN,
  }];
  const sent = replay(15, () => [a], { silences });
  // Unmuted at minute 10, the group starts then and waits its group_wait (30 s): minute 11.
  assert.deepEqual(sent.map((s) => s.minute), [11]);
  const plan = planNotifications({ now: 0, alerts: [a], groups: [], route, silences });
  assert.equal(plan.suppressed.silence, 1);
  assert.equal(plan.muted.get(a.fingerprint), "silence");
});

Deno.test("planNotifications() inhibits symptoms of a firing cause that share the equal labels", () => {
  const cause = alert({ alertname: "DatabaseDown", env: "prod" });
  const symptom = alert({ alertname: "HighErrorRate", env: "prod" });
  const elsewhere = alert({ alertname: "HighErrorRate", env: "staging" });
  const inhibitRules = [{
    sourceMatchers: parseMatchers('alertname="DatabaseDown"'),
    targetMatchers: parseMatchers('alertname=~"HighErrorRate|OrderDrop"'),
    equal: ["env"],
  }];
  const plan = planNotifications({
    now: 0,
    alerts: [cause, symptom, elsewhere],
    groups: [],
    route: { ...route, groupWaitMs: 0 },
    inhibitRules,
  });
  assert.equal(plan.suppressed.inhibition, 1);
  const carried = plan.notifications.flatMap((n) =>
    n.alerts.map((a) => a.labels.env + a.labels.alertname)
  );
  assert.deepEqual(carried.sort(), ["prodDatabaseDown", "stagingHighErrorRate"]);
});

Deno.test("planNotifications() never announces the resolution of an alert it never sent", () => {
  const a = alert({ alertname: "Blip" });
  const sent = replay(5, (m) => m === 0 ? [a] : m === 1 ? [alert(a.labels, "resolved")] : []);
  assert.deepEqual(sent, []);
});
