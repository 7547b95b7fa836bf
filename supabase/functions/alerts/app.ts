/**
 * The `alerts` function: the scheduled evaluation of the alert rules (`POST /alerts/evaluate`,
 * service role: pg_cron + pg_net on hosted Supabase, the dev scheduler locally), Alertmanager's
 * webhook (`POST /alerts/alertmanager`, `Authorization: Bearer $COMPTOIR_ALERTMANAGER_TOKEN`), and
 * the API of admins and the service role: active alerts, history (keyset pagination), rules with
 * their last evaluation, and silences (create, list, read, update, expire). Deployed with
 * `verify_jwt = false` because Alertmanager carries no Supabase JWT; every other route verifies
 * the caller's JWT itself.
 *
 * The rules are validated when the module loads (config/alerting/rules.yaml, through
 * rules.generated.json): a bad rule stops the function with one message per bad rule.
 * @module
 */
import { z } from "zod";
import { authenticate, callerOf, requireRole } from "../_shared/auth/caller.ts";
import { checkBearerToken } from "../_shared/auth/bearer_token.ts";
import { getDb } from "../_shared/db/client.ts";
import { withDbErrors } from "../_shared/db/errors.ts";
import { createFunctionApp } from "../_shared/http/create_app.ts";
import { ProblemError, problems } from "../_shared/http/problem.ts";
import {
  recordAlertEvaluation,
  recordAlertsSuppressed,
  recordAuthAttempt,
  recordAuthFailure,
} from "../_shared/metrics/hooks.ts";
import { cursor, encodeCursor, queryInt, uuid } from "../_shared/validation/schemas.ts";
import { validate, validInput } from "../_shared/validation/validate.ts";
import { alertmanagerPayload, ingestAlertmanager } from "./alertmanager_webhook.ts";
import { evaluateAlerts } from "./evaluator.ts";
import { MatcherSyntaxError, parseMatchers } from "./matchers.ts";
import { parseDuration, parseRuleConfig } from "./rules.ts";
import rulesDocument from "./rules.generated.json" with { type: "json" };
import { prometheusQuery } from "./signals.ts";
import {
  createSilence,
  expireSilence,
  getSilence,
  listSilences,
  updateSilence,
} from "./silences.ts";

const config = parseRuleConfig(rulesDocument);
const READ = { idempotent: true } as const;
const ADMINS = ["admin", "service_role"] as const;

const app = createFunctionApp("alerts", { maxBodyBytes: 1024 * 1024 });

app.post("/alertmanager", validate({ body: alertmanagerPayload }), async (c) => {
  recordAuthAttempt("alertmanager_token");
  const refusal = await checkBearerToken(
    c.req.header("authorization"),
    Deno.env.get("COMPTOIR_ALERTMANAGER_TOKEN"),
    { token: "Alertmanager token", secretName: "COMPTOIR_ALERTMANAGER_TOKEN" },
  );
  if (refusal) {
    recordAuthFailure("alertmanager_token", refusal.reason);
    throw new ProblemError(problems.unauthorized(refusal.detail), {
      headers: { "www-authenticate": 'Bearer realm="alerts"' },
    });
  }
  const { body } = validInput<{ body: typeof alertmanagerPayload }>(c);
  const outcome = await withDbErrors(() => ingestAlertmanager(getDb(), body));
  recordAlertsSuppressed({ dedup: outcome.deduplicated });
  return c.json(outcome, 200);
});

app.use("*", async function authenticateOthers(c, next) {
  if (c.req.path === "/alerts/alertmanager") return await next();
  return await authenticate()(c, next);
});

app.post("/evaluate", requireRole("service_role"), async (c) => {
  const promUrl = Deno.env.get("COMPTOIR_PROMETHEUS_URL");
  const started = performance.now();
  try {
    const outcome = await withDbErrors(() =>
      evaluateAlerts({
        sql: getDb(),
        config,
        prom: promUrl ? prometheusQuery(promUrl) : undefined,
        externalUrl: Deno.env.get("COMPTOIR_ALERTS_EXTERNAL_URL") ?? null,
      })
    );
    recordAlertEvaluation({
      result: outcome.alreadyEvaluated ? "already_evaluated" : "evaluated",
      seconds: outcome.durationMs / 1000,
      states: outcome.alreadyEvaluated ? undefined : outcome.states,
      notifications: outcome.notifications,
      suppressed: outcome.suppressed,
    });
    return c.json(outcome, 200);
  } catch (error) {
    recordAlertEvaluation({ result: "failed", seconds: (performance.now() - started) / 1000 });
    throw error;
  }
});

const alertsQuery = z.strictObject({
  status: z.enum(["firing", "resolved", "all"]).default("firing"),
});

app.get("/alerts", requireRole(...ADMINS), validate({ query: alertsQuery }), async (c) => {
  const { query } = validInput<{ query: typeof alertsQuery }>(c);
  const rows = await withDbErrors(() =>
    getDb()`
      select fingerprint, alertname, labels, annotations, status, starts_at, ends_at, value,
        sources, muted_by, generator_url, updated_at
      from alerting.alerts
      where ${query.status}::text = 'all' or status = ${query.status}
      order by starts_at desc, fingerprint
      limit 1000`.execute(), READ);
  c.header("cache-control", "no-store");
  return c.json({ data: rows });
});

const historyQuery = z.strictObject({
  limit: queryInt({ min: 1, max: 200 }).default(50),
  cursor: cursor.optional(),
  fingerprint: z.string().regex(/^[0-9a-f]{16}$/, "Expected 16 hex digits").optional(),
  alertname: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,199}$/, "Expected an alert name")
    .optional(),
});

app.get("/history", requireRole(...ADMINS), validate({ query: historyQuery }), async (c) => {
  const { query } = validInput<{ query: typeof historyQuery }>(c);
  const position = query.cursor as { at?: unknown; id?: unknown } | undefined;
  if (
    position &&
    (typeof position.at !== "string" || Number.isNaN(Date.parse(position.at)) ||
      typeof position.id !== "number")
  ) {
    throw new ProblemError({
      type: "invalid-request",
      status: 400,
      title: "Invalid request",
      detail: "1 invalid field",
      errors: [{ in: "query", pointer: "/cursor", detail: "Malformed cursor", code: "custom" }],
      error_count: 1,
    });
  }
  const at = position ? String(position.at) : null;
  const id = position ? Number(position.id) : null;
  const rows = await withDbErrors(() =>
    getDb()`
      select id, at, fingerprint, alertname, labels, from_state, to_state, value, source
      from alerting.history
      where (${at}::timestamptz is null or (at, id) < (${at}::timestamptz, ${id}::bigint))
        and (${query.fingerprint ?? null}::text is null or fingerprint = ${
      query.fingerprint ?? null
    })
        and (${query.alertname ?? null}::text is null or alertname = ${query.alertname ?? null})
      order by at desc, id desc
      limit ${query.limit + 1}`.execute(), READ);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  const next = rows.length > query.limit && last
    ? encodeCursor({ at: (last.at as Date).toISOString(), id: Number(last.id) })
    : null;
  c.header("cache-control", "no-store");
  return c.json({ data: page.map((r) => ({ ...r, id: Number(r.id) })), next_cursor: next });
});

app.get("/rules", requireRole(...ADMINS), async (c) => {
  const status = await withDbErrors(
    () => getDb()`select * from alerting.rule_status`.execute(),
    READ,
  );
  const byRule = new Map(status.map((s) => [s.rule as string, s]));
  c.header("cache-control", "no-store");
  return c.json({
    route: {
      group_by: config.route.groupBy,
      group_wait_ms: config.route.groupWaitMs,
      group_interval_ms: config.route.groupIntervalMs,
      repeat_interval_ms: config.route.repeatIntervalMs,
    },
    data: config.rules.map((rule) => {
      const s = byRule.get(rule.name);
      return {
        name: rule.name,
        kind: rule.kind,
        signal: rule.signal.kind,
        detector: rule.detector,
        for_ms: rule.forMs,
        keep_firing_for_ms: rule.keepFiringForMs,
        no_data_for_ms: rule.noDataForMs,
        labels: rule.labels,
        annotations: rule.annotations,
        last_evaluation: s
          ? {
            at: s.last_instant,
            duration_ms: s.last_duration_ms,
            series: s.series,
            firing: s.firing,
            health: s.health,
            error: s.last_error,
          }
          : null,
      };
    }),
  });
});

/** Matchers in Alertmanager's syntax: one string (`{a="b", c=~"d"}`) or a list of them. */
const matchersInput = z.union([
  z.string().min(1).max(2000),
  z.array(z.string().min(1).max(500)).min(1).max(50),
])
  .transform((value, ctx) => {
    try {
      return (Array.isArray(value) ? value : [value]).flatMap((m) => parseMatchers(m));
    } catch (error) {
      if (!(error instanceof MatcherSyntaxError)) throw error;
      ctx.addIssue({ code: "custom", message: `Invalid matcher: ${error.message}` });
      return z.NEVER;
    }
  });
const instant = z.iso.datetime({ offset: true }).transform((v) => new Date(v));
const durationInput = z.string().max(20).transform((v, ctx) => {
  try {
    const ms = parseDuration(v);
    if (ms <= 0) throw new RangeError("duration must be positive");
    return ms;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});
/** Longest silence: a maintenance window or a holiday season, not a way to switch alerting off. */
const MAX_SILENCE_MS = 90 * 86_400_000;

const silenceBody = z.strictObject({
  matchers: matchersInput,
  starts_at: instant.optional(),
  ends_at: instant.optional(),
  duration: durationInput.optional(),
  comment: z.string().trim().min(1).max(1000),
  created_by: z.string().trim().min(1).max(200).optional(),
}).superRefine((v, ctx) => {
  if ((v.ends_at === undefined) === (v.duration === undefined)) {
    ctx.addIssue({ code: "custom", path: ["ends_at"], message: "Give either ends_at or duration" });
  }
});

function silenceWindow(
  startsAt: Date | undefined,
  endsAt: Date | undefined,
  durationMs: number | undefined,
): { startsAt: Date; endsAt: Date } {
  const start = startsAt ?? new Date();
  const end = endsAt ?? new Date(start.getTime() + (durationMs ?? 0));
  const invalid = (pointer: string, detail: string) =>
    new ProblemError({
      type: "validation-failed",
      status: 422,
      title: "Validation failed",
      detail: "1 invalid field",
      errors: [{ in: "body", pointer, detail, code: "custom" }],
      error_count: 1,
    });
  if (end.getTime() <= start.getTime()) {
    throw invalid("/ends_at", "The silence must end after it starts");
  }
  if (end.getTime() <= Date.now()) throw invalid("/ends_at", "The silence would already be over");
  if (end.getTime() - start.getTime() > MAX_SILENCE_MS) {
    throw invalid("/ends_at", "A silence lasts at most 90 days");
  }
  return { startsAt: start, endsAt: end };
}

app.post("/silences", requireRole(...ADMINS), validate({ body: silenceBody }), async (c) => {
  const { body } = validInput<{ body: typeof silenceBody }>(c);
  const caller = callerOf(c);
  const window = silenceWindow(body.starts_at, body.ends_at, body.duration);
  const silence = await withDbErrors(() =>
    createSilence(getDb(), {
      matchers: body.matchers,
      ...window,
      createdBy: body.created_by ?? caller.email ?? caller.userId ?? caller.role,
      comment: body.comment,
    })
  );
  c.header("location", `/functions/v1/alerts/silences/${silence.id}`);
  return c.json(silence, 201);
});

const silencesQuery = z.strictObject({
  state: z.enum(["active", "pending", "expired", "all"]).default("all"),
});

app.get("/silences", requireRole(...ADMINS), validate({ query: silencesQuery }), async (c) => {
  const { query } = validInput<{ query: typeof silencesQuery }>(c);
  c.header("cache-control", "no-store");
  return c.json({ data: await withDbErrors(() => listSilences(getDb(), query.state), READ) });
});

const silenceParams = z.strictObject({ id: uuid });

async function found<T>(value: Promise<T | undefined>, id: string): Promise<T> {
  const row = await value;
  if (row === undefined) throw new ProblemError(problems.notFound(`No silence ${id}`));
  return row;
}

app.get("/silences/:id", requireRole(...ADMINS), validate({ params: silenceParams }), async (c) => {
  const { params } = validInput<{ params: typeof silenceParams }>(c);
  c.header("cache-control", "no-store");
  return c.json(await found(withDbErrors(() => getSilence(getDb(), params.id), READ), params.id));
});

const silenceChange = z.strictObject({
  matchers: matchersInput.optional(),
  starts_at: instant.optional(),
  ends_at: instant.optional(),
  comment: z.string().trim().min(1).max(1000).optional(),
}).refine((v) => Object.keys(v).length > 0, { message: "Change at least one field" });

app.put(
  "/silences/:id",
  requireRole(...ADMINS),
  validate({ params: silenceParams, body: silenceChange }),
  async (c) => {
    const { params, body } = validInput<
      { params: typeof silenceParams; body: typeof silenceChange }
    >(c);
    const current = await found(
      withDbErrors(() => getSilence(getDb(), params.id), READ),
      params.id,
    );
    if (current.state === "expired") {
      throw new ProblemError({
        type: "silence-expired",
        status: 409,
        title: "Silence expired",
        detail: "An expired silence cannot change; create a new one",
      });
    }
    const window = silenceWindow(
      body.starts_at ?? new Date(current.starts_at),
      body.ends_at ?? new Date(current.ends_at),
      undefined,
    );
    const updated = await found(
      withDbErrors(() =>
        updateSilence(getDb(), params.id, {
          matchers: body.matchers,
          startsAt: body.starts_at ? window.startsAt : undefined,
          endsAt: body.ends_at ? window.endsAt : undefined,
          comment: body.comment,
        })
      ),
      params.id,
    );
    return c.json(updated);
  },
);

app.delete(
  "/silences/:id",
  requireRole(...ADMINS),
  validate({ params: silenceParams }),
  async (c) => {
    const { params } = validInput<{ params: typeof silenceParams }>(c);
    return c.json(await found(withDbErrors(() => expireSilence(getDb(), params.id)), params.id));
  },
);

export default app;
