/**
 * The alerts function through the local gateway with supabase-js: who may call what, silences
 * from creation to expiry, the history's pages, the rules and their last evaluation, the
 * Alertmanager webhook's token and payload, and every bad input answered with problem+json while
 * the database stays unchanged.
 */
import assert from "node:assert/strict";
import { type ApiContext, call, setUp } from "../api/_fixtures.ts";
import { fingerprint } from "../../supabase/functions/alerts/fingerprint.ts";

const TOKEN = "test-alertmanager-token-0123456789";
const ctx: ApiContext = await setUp({ env: { COMPTOIR_ALERTMANAGER_TOKEN: TOKEN } });
const opts = { sanitizeResources: false, sanitizeOps: false };

async function tableCounts() {
  const [row] = await ctx.sql`
    select (select count(*) from alerting.silences)::int as silences,
      (select count(*) from alerting.alerts)::int as alerts,
      (select count(*) from alerting.history)::int as history`;
  return row;
}

function assertProblem(
  res: { status: number; headers: Headers; body: { type?: string } },
  status: number,
) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.headers.get("content-type"), "application/problem+json");
}

function webhook(body: unknown, token: string | null = TOKEN, raw?: string) {
  return fetch(`${ctx.server.url}/functions/v1/alerts/alertmanager`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: raw ?? JSON.stringify(body),
  });
}

function amPayload(alertname: string, status: "firing" | "resolved" = "firing") {
  const labels = { alertname, severity: "warning", team: "platform", instance: "db-1" };
  return {
    version: "4",
    groupKey: `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
    status,
    receiver: "comptoir-alerts",
    groupLabels: { alertname },
    commonLabels: labels,
    commonAnnotations: { summary: "from Prometheus" },
    externalURL: "http://127.0.0.1:9093",
    alerts: [{
      status,
      labels,
      annotations: { summary: "from Prometheus" },
      startsAt: "2026-03-02T10:00:00Z",
      endsAt: status === "firing" ? "0001-01-01T00:00:00Z" : "2026-03-02T10:05:00Z",
      generatorURL: "http://127.0.0.1:9090/graph",
      fingerprint: fingerprint(labels),
    }],
  };
}

Deno.test({
  ...opts,
  name: "only admins and the service role read alerts; only the service role evaluates",
  async fn() {
    assertProblem(await call(ctx.anon, "alerts/alerts"), 401);
    assertProblem(await call(ctx.alice.client, "alerts/alerts"), 403);
    const admin = await call(ctx.admin.client, "alerts/alerts");
    assert.equal(admin.status, 200);
    assert.ok(Array.isArray(admin.body.data));
    assertProblem(
      await call(ctx.admin.client, "alerts/evaluate", { method: "POST", body: {} }),
      403,
    );
    const evaluated = await call(ctx.service, "alerts/evaluate", { method: "POST", body: {} });
    assert.equal(evaluated.status, 200, JSON.stringify(evaluated.body));
    assert.match(evaluated.body.instant, /:00\.000Z$/);
    const rules = await call(ctx.admin.client, "alerts/rules");
    assert.equal(rules.status, 200);
    const drop = rules.body.data.find((r: { name: string }) => r.name === "OrderDrop");
    assert.equal(drop.kind, "seasonal");
    assert.equal(drop.last_evaluation.health, "ok");
    const latency = rules.body.data.find((r: { name: string }) => r.name === "HighLatencyP99");
    assert.equal(latency.last_evaluation.health, "skipped", "no Prometheus configured");
  },
});

Deno.test({
  ...opts,
  name: "a silence goes from created to expired through the API",
  async fn() {
    const created = await call(ctx.admin.client, "alerts/silences", {
      method: "POST",
      body: {
        matchers: '{alertname="OrderDrop", team=~"business|shop"}',
        duration: "2h",
        comment: "deploy",
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.state, "active");
    assert.equal(created.body.matchers_text, '{alertname="OrderDrop", team=~"business|shop"}');
    assert.equal(created.body.created_by, ctx.admin.email);
    const id = created.body.id;
    const listed = await call(ctx.admin.client, "alerts/silences?state=active");
    assert.ok(listed.body.data.some((s: { id: string }) => s.id === id));
    const longer = new Date(Date.now() + 3 * 3_600_000).toISOString();
    const updated = await call(ctx.admin.client, `alerts/silences/${id}`, {
      method: "PUT" as "POST",
      body: { ends_at: longer, comment: "deploy, longer" },
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(updated.body.ends_at, longer);
    const expired = await call(ctx.admin.client, `alerts/silences/${id}`, {
      method: "DELETE" as "POST",
    });
    assert.equal(expired.status, 200);
    assert.equal(expired.body.state, "expired");
    assertProblem(
      await call(ctx.admin.client, `alerts/silences/${id}`, {
        method: "PUT" as "POST",
        body: { comment: "again" },
      }),
      409,
    );
    assertProblem(await call(ctx.admin.client, `alerts/silences/${crypto.randomUUID()}`), 404);
  },
});

Deno.test({
  ...opts,
  name: "bad silence input is a problem+json naming the field, and nothing is written",
  async fn() {
    const before = await tableCounts();
    const cases: [unknown, number, string][] = [
      [{ matchers: 'alertname=~"("', duration: "1h", comment: "x" }, 422, "/matchers"],
      [{ matchers: "alertname=OrderDrop", comment: "x" }, 422, "/ends_at"],
      [
        {
          matchers: "alertname=OrderDrop",
          duration: "1h",
          ends_at: "2030-01-01T00:00:00Z",
          comment: "x",
        },
        422,
        "/ends_at",
      ],
      [{ matchers: "alertname=OrderDrop", duration: "soon", comment: "x" }, 422, "/duration"],
      [
        { matchers: "alertname=OrderDrop", ends_at: "2020-01-01T00:00:00Z", comment: "x" },
        422,
        "/ends_at",
      ],
      [{ matchers: "alertname=OrderDrop", duration: "1h", comment: "" }, 422, "/comment"],
      [{ matchers: "alertname=OrderDrop", duration: "100d", comment: "x" }, 422, "/ends_at"],
      [{ matchers: "alertname=OrderDrop", duration: "1h", comment: "x", extra: 1 }, 422, ""],
    ];
    for (const [body, status, pointer] of cases) {
      const res = await call(ctx.admin.client, "alerts/silences", { method: "POST", body });
      assertProblem(res, status);
      if (pointer) {
        assert.ok(
          res.body.errors.some((e: { pointer: string }) => e.pointer === pointer),
          `${JSON.stringify(body)} → ${JSON.stringify(res.body.errors)}`,
        );
      }
    }
    assertProblem(await call(ctx.admin.client, "alerts/silences/not-a-uuid"), 400);
    assertProblem(await call(ctx.admin.client, "alerts/silences?state=maybe"), 400);
    assertProblem(await call(ctx.admin.client, "alerts/history?cursor=%%%"), 400);
    assertProblem(await call(ctx.admin.client, "alerts/history?limit=1000"), 400);
    assert.deepEqual(await tableCounts(), before);
  },
});

Deno.test({
  ...opts,
  name: "the Alertmanager webhook needs its token and a version 4 payload",
  async fn() {
    const before = await tableCounts();
    for (const token of [null, "wrong-token"]) {
      const res = await webhook(amPayload("DatabaseDown"), token);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      await res.body?.cancel();
    }
    for (
      const [body, raw] of [[{ ...amPayload("DatabaseDown"), version: "3" }], [{
        ...amPayload("X"),
        alerts: [{ status: "firing" }],
      }], [null, "{not json"]] as const
    ) {
      const res = await webhook(body, TOKEN, raw);
      assert.ok(res.status === 400 || res.status === 422, String(res.status));
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      await res.body?.cancel();
    }
    assert.deepEqual(await tableCounts(), before);

    const accepted = await webhook(amPayload("DatabaseDown"));
    assert.equal(accepted.status, 200);
    assert.deepEqual(await accepted.json(), { received: 1, changed: 1, deduplicated: 0 });
    // Alertmanager resends the group at its repeat interval: nothing new.
    const again = await webhook(amPayload("DatabaseDown"));
    assert.deepEqual(await again.json(), { received: 1, changed: 0, deduplicated: 1 });
    const alerts = await call(ctx.admin.client, "alerts/alerts");
    const db = alerts.body.data.find((a: { alertname: string }) => a.alertname === "DatabaseDown");
    assert.deepEqual(db.sources, ["alertmanager"]);
    const resolved = await webhook(amPayload("DatabaseDown", "resolved"));
    assert.deepEqual(await resolved.json(), { received: 1, changed: 1, deduplicated: 0 });
  },
});

Deno.test({
  ...opts,
  name: "the history pages newest first with a keyset cursor",
  async fn() {
    const all: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `alerts/history?limit=1&alertname=DatabaseDown${
        cursor ? `&cursor=${cursor}` : ""
      }`;
      const res = await call(ctx.admin.client, path);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      all.push(...res.body.data.map((h: { id: number }) => h.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(all.length, 2, "firing, then resolved");
    assert.ok(all[0] > all[1], "newest first");
    const tampered = btoa(JSON.stringify({ at: "yesterday", id: "x" })).replace(/=+$/, "");
    assertProblem(await call(ctx.admin.client, `alerts/history?cursor=${tampered}`), 400);
  },
});

Deno.test({
  ...opts,
  name: "deno task alerts:silence adds, lists and expires a silence",
  async fn() {
    const silenceCli = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "scripts/alert_silence.ts", "--url", ctx.server.url, ...args],
        cwd: new URL("../../", import.meta.url).pathname,
        env: { SUPABASE_SERVICE_ROLE_KEY: ctx.server.serviceRoleKey },
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    };
    const added = await silenceCli(
      "add",
      "--matchers",
      'alertname="RevenueDrop"',
      "--duration",
      "30m",
      "--comment",
      "cli",
    );
    assert.equal(added.code, 0, added.stderr);
    const silence = JSON.parse(added.stdout);
    assert.equal(silence.state, "active");
    assert.equal(silence.created_by, "service_role");
    const listed = await silenceCli("list");
    assert.ok(JSON.parse(listed.stdout).data.some((s: { id: string }) => s.id === silence.id));
    const expired = await silenceCli("expire", silence.id);
    assert.equal(JSON.parse(expired.stdout).state, "expired");
    const refused = await silenceCli(
      "add",
      "--matchers",
      "alertname=~(",
      "--duration",
      "1h",
      "--comment",
      "x",
    );
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /422 Validation failed/);
    assert.match(refused.stderr, /\/matchers: Invalid matcher/);
  },
});

Deno.test({ ...opts, name: "stop the dev server", fn: () => ctx.stop() });
