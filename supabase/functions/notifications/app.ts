/**
 * The `notifications` function: delivers the outbox (`POST /deliver`, called every minute by the
 * notify-deliver job and after each enqueue), lets server-side callers enqueue a message or publish
 * an event over HTTP, and gives the team the dead letters, a message's attempts, and retries.
 *
 * | route                          | who                   | what                                   |
 * | ------------------------------ | --------------------- | -------------------------------------- |
 * | `POST /deliver`                | service role          | one delivery run; its report           |
 * | `POST /messages`               | service role          | enqueue one message (201, its id)      |
 * | `POST /events`                 | service role          | publish an event (202, messages queued)|
 * | `GET /messages/:id`            | service role, admins  | a message, its payload and attempts    |
 * | `POST /messages/:id/retry`     | service role, admins  | queue a dead or failed message again   |
 * | `GET /dead`                    | service role, admins  | dead letters, newest first, paginated  |
 * | `POST /dead/retry`             | service role, admins  | queue every dead letter (of a channel) |
 * @module
 */
import type { Context } from "hono";
import { z } from "zod";
import { authenticate, requireRole } from "../_shared/auth/caller.ts";
import { getDb } from "../_shared/db/client.ts";
import { withDbErrors } from "../_shared/db/errors.ts";
import { edgeWaitUntil } from "../_shared/edge_runtime.ts";
import { createFunctionApp } from "../_shared/http/create_app.ts";
import { ProblemError, problems } from "../_shared/http/problem.ts";
import { rateLimitBackendFor } from "../_shared/rate_limit/backend_from_settings.ts";
import { rateLimitSettingsFromEnv } from "../_shared/rate_limit/settings.ts";
import type { RateLimitBackend } from "../_shared/rate_limit/types.ts";
import { cursor, encodeCursor, queryInt, uuid } from "../_shared/validation/schemas.ts";
import { validate, validInput } from "../_shared/validation/validate.ts";
import { CHANNELS } from "./model.ts";
import * as outbox from "./outbox.ts";
import { TEMPLATES } from "./templates/registry.ts";
import { deliverDue } from "./worker.ts";

/** Largest payload accepted over HTTP (the database's own limit is notify.settings). */
const MAX_BODY_BYTES = 256 * 1024;

const app = createFunctionApp("notifications", {
  maxBodyBytes: MAX_BODY_BYTES,
});
app.use(authenticate());

let rateLimits: RateLimitBackend | null | undefined;

/** The shared store of the Slack rate limit, as the deployment configured rate limiting. */
function slackRateLimits(): RateLimitBackend | undefined {
  if (rateLimits === undefined) {
    try {
      rateLimits = rateLimitBackendFor(rateLimitSettingsFromEnv().backend).backend;
    } catch {
      rateLimits = null;
    }
  }
  return rateLimits ?? undefined;
}

let running: Promise<unknown> | undefined;

/**
 * Starts a delivery run after the response where the platform keeps the isolate alive for it
 * (`EdgeRuntime.waitUntil`), and at once elsewhere; one at a time per isolate.
 */
function deliverSoon(): void {
  if (running) return;
  running = deliverDue({
    sql: getDb(),
    rateLimits: slackRateLimits(),
    budgetMs: 10_000,
  })
    .catch((error) =>
      console.warn(JSON.stringify({
        level: "warn",
        msg: "notifications: delivery after enqueue failed",
        error: error instanceof Error ? error.name : String(error),
      }))
    )
    .finally(() => running = undefined);
  edgeWaitUntil()?.(running);
}

const deliverBody = z.object({
  budget_ms: z.number().int().min(100).max(45_000).optional(),
}).strict();

/**
 * The JSON body parsed by `schema`, or `{}` when there is none: pg_net posts `{}`, an operator's
 * `curl -X POST` nothing at all. A body that is there is validated like any other.
 */
async function optionalBody<S extends z.ZodType>(
  c: Context,
  schema: S,
): Promise<z.output<S>> {
  if ((await c.req.raw.clone().arrayBuffer()).byteLength === 0) {
    return schema.parse({});
  }
  await validate({ body: schema })(c, () => Promise.resolve());
  return validInput<{ body: S }>(c).body;
}

app.post("/deliver", requireRole("service_role"), async (c) => {
  const body = await optionalBody(c, deliverBody);
  const report = await withDbErrors(() =>
    deliverDue({
      sql: getDb(),
      rateLimits: slackRateLimits(),
      budgetMs: body.budget_ms ?? 20_000,
    })
  );
  c.header("cache-control", "no-store");
  return c.json(report);
});

const channel = z.enum(CHANNELS);
const messageBody = z.object({
  channel,
  destination: z.string().min(1).max(320),
  template: z.string().min(1).max(100),
  payload: z.record(z.string(), z.unknown()),
  ordering_key: z.string().min(1).max(200).optional(),
  message_id: z.string().regex(/^[\x21-\x7e]{1,200}$/).optional(),
}).strict().superRefine((m, ctx) => {
  const template = TEMPLATES[m.template];
  if (!template) {
    ctx.addIssue({
      code: "custom",
      path: ["template"],
      message: "Unknown template",
    });
    return;
  }
  if (!template.channels.includes(m.channel)) {
    ctx.addIssue({
      code: "custom",
      path: ["channel"],
      message: `Template ${m.template} has no ${m.channel} version`,
    });
  }
  const parsed = template.schema.safeParse(m.payload);
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    ctx.addIssue({
      code: "custom",
      path: ["payload", ...issue.path],
      message: issue.message,
    });
  }
});

app.post(
  "/messages",
  requireRole("service_role"),
  validate({ body: messageBody }),
  async (c) => {
    const { body } = validInput<{ body: typeof messageBody }>(c);
    const id = await enqueueOrProblem(() => outbox.enqueue(getDb(), body));
    deliverSoon();
    c.header("location", `/functions/v1/notifications/messages/${id}`);
    return c.json({ id }, 201);
  },
);

const eventBody = z.object({
  event: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/),
  payload: z.record(z.string(), z.unknown()),
  attributes: z.record(z.string(), z.unknown()).optional(),
  ordering_key: z.string().min(1).max(200).optional(),
  message_id: z.string().regex(/^[\x21-\x7e]{1,160}$/).optional(),
}).strict();

app.post(
  "/events",
  requireRole("service_role"),
  validate({ body: eventBody }),
  async (c) => {
    const { body } = validInput<{ body: typeof eventBody }>(c);
    const queued = await enqueueOrProblem(() => outbox.publish(getDb(), body));
    if (queued > 0) deliverSoon();
    return c.json({ queued }, 202);
  },
);

/**
 * The database refuses what it cannot queue with a message that says why (unknown destination,
 * payload over the limit); that message is the answer's detail, since it names only the
 * caller's own input. Anything else goes the usual way (withDbErrors).
 */
function enqueueOrProblem<T>(fn: () => Promise<T>): Promise<T> {
  return withDbErrors(async () => {
    try {
      return await fn();
    } catch (error) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      if (code === "22023" || code === "54000") {
        throw new ProblemError({
          type: "notification-refused",
          status: code === "54000" ? 413 : 422,
          title: "Notification refused",
          detail: String(message ?? "").slice(0, 300),
        });
      }
      throw error;
    }
  });
}

const idParams = z.object({ id: uuid }).strict();

app.get(
  "/messages/:id",
  requireRole("service_role", "admin"),
  validate({ params: idParams }),
  async (c) => {
    const { params } = validInput<{ params: typeof idParams }>(c);
    const found = await withDbErrors(
      () => outbox.messageWithAttempts(getDb(), params.id),
      {
        idempotent: true,
      },
    );
    if (!found) {
      throw new ProblemError(problems.notFound("No notification with this id"));
    }
    c.header("cache-control", "no-store");
    return c.json(found);
  },
);

app.post(
  "/messages/:id/retry",
  requireRole("service_role", "admin"),
  validate({ params: idParams }),
  async (c) => {
    const { params } = validInput<{ params: typeof idParams }>(c);
    const retried = await withDbErrors(() => outbox.retryMessage(getDb(), params.id));
    if (retried === undefined) {
      throw new ProblemError(problems.notFound("No notification with this id"));
    }
    if (!retried) {
      throw new ProblemError({
        type: "notification-not-retryable",
        status: 409,
        title: "Not retryable",
        detail: "Only dead or failed notifications can be retried",
      });
    }
    deliverSoon();
    return c.json({ id: params.id, status: "pending" });
  },
);

const deadQuery = z.object({
  channel: channel.optional(),
  limit: queryInt({ min: 1, max: 200 }).default(50),
  cursor: cursor.optional(),
}).strict();

const deadPosition = z.object({ at: z.string(), id: z.uuid() }).strict();

app.get(
  "/dead",
  requireRole("service_role", "admin"),
  validate({ query: deadQuery }),
  async (c) => {
    const { query } = validInput<{ query: typeof deadQuery }>(c);
    const before = query.cursor === undefined ? undefined : deadPosition.safeParse(query.cursor);
    if (before && !before.success) {
      throw new ProblemError(
        problems.badRequest("Malformed cursor", { pointer: "/cursor" }),
      );
    }
    const rows = await withDbErrors(
      () =>
        outbox.listDead(getDb(), {
          channel: query.channel,
          limit: query.limit + 1,
          before: before?.data,
        }),
      { idempotent: true },
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    c.header("cache-control", "no-store");
    return c.json({
      data: page,
      next_cursor: rows.length > query.limit && last
        ? encodeCursor({
          at: new Date(last.updated_at).toISOString(),
          id: last.id,
        })
        : null,
    });
  },
);

const retryDeadBody = z.object({ channel: channel.optional() }).strict();

app.post("/dead/retry", requireRole("service_role", "admin"), async (c) => {
  const body = await optionalBody(c, retryDeadBody);
  const retried = await withDbErrors(() => outbox.retryDead(getDb(), body.channel));
  if (retried > 0) deliverSoon();
  return c.json({ retried });
});

export default app;
