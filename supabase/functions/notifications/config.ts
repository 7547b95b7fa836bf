/**
 * The schema of `config/notifications.json`: named destinations per channel, the routes that send
 * events to them, and the sender address of emails. Secrets never appear in it: a destination names
 * the environment variables that hold its URL, signing secret or routing key (all starting with
 * `COMPTOIR_NOTIFY_`, so configuration cannot reach any other secret of the function).
 * `deno task notify:sync` validates the file with this schema and writes it to the database.
 * @module
 */
import { z } from "zod";
import { TEMPLATES } from "./templates/registry.ts";
import { CHANNELS } from "./model.ts";

/** Names of the environment variables a destination may read. */
export const SECRET_ENV_PATTERN = /^COMPTOIR_NOTIFY_[A-Z0-9_]{1,80}$/;

const secretEnv = z.string().regex(
  SECRET_ENV_PATTERN,
  "must name an environment variable starting with COMPTOIR_NOTIFY_",
);
const name = z.string().regex(
  /^[a-z0-9][a-z0-9_-]{0,62}$/,
  "lower-case letters, digits, - and _",
);
const locale = z.enum(["en", "fr"]).default("en");

/** Address ranges a destination may be allowed to reach, which are refused by default. */
export const PRIVATE_NETWORKS = ["loopback", "private", "link_local"] as const;

const allowPrivate = z.array(z.enum(PRIVATE_NETWORKS)).max(3).default([]);

const slackDestination = z.object({
  url_env: secretEnv,
  locale,
  allow_private_networks: allowPrivate,
}).strict();

const webhookDestination = z.object({
  url_env: secretEnv,
  /** Signing secrets (`whsec_…`), several separated by spaces while one is rotated out. */
  secret_env: secretEnv,
  locale,
  allow_private_networks: allowPrivate,
}).strict();

const pagerdutyDestination = z.object({
  routing_key_env: secretEnv,
  /** Events API v2 endpoint; the public one unless set (a region or a test receiver). */
  url: z.url({ protocol: /^https?$/ }).optional(),
  locale,
  allow_private_networks: allowPrivate,
}).strict();

const emailAddress = z.string().max(320).regex(
  /^[^@\s<>",;]+@[^@\s<>",;]+\.[^@\s<>",;]+$/,
  "must be an email address",
);

const emailDestination = z.object({
  to: z.array(emailAddress).min(1).max(50),
  locale,
}).strict();

const route = z.object({
  name,
  event: z.string().regex(
    /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/,
    "like alert.firing",
  ),
  channel: z.enum(CHANNELS),
  /** A destination of the channel (or, for email, an address)… */
  destination: z.string().min(1).max(320).optional(),
  /** …or where the address is in the payload, dot-separated (`customer.email`). */
  destination_from: z.string().regex(/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/)
    .optional(),
  template: z.string(),
  /** Attribute conditions: a value, or a list of accepted values. */
  match: z.record(
    z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/),
    z.union([
      z.string(),
      z.number(),
      z.boolean(),
      z.array(z.union([z.string(), z.number()])),
    ]),
  ).default({}),
  enabled: z.boolean().default(true),
}).strict();

/** The whole file. */
export const notificationsConfigSchema = z.object({
  email: z.object({
    from: z.string().min(3).max(320).regex(/@/, "must contain an address"),
  })
    .strict(),
  destinations: z.object({
    slack: z.record(name, slackDestination).default({}),
    webhook: z.record(name, webhookDestination).default({}),
    pagerduty: z.record(name, pagerdutyDestination).default({}),
    email: z.record(name, emailDestination).default({}),
  }).strict(),
  routes: z.array(route).max(500),
}).strict().superRefine((config, ctx) => {
  const seen = new Set<string>();
  config.routes.forEach((r, i) => {
    const at = (key: string) => ["routes", i, key];
    if (seen.has(r.name)) {
      ctx.addIssue({ code: "custom", path: at("name"), message: "duplicate" });
    }
    seen.add(r.name);
    if ((r.destination === undefined) === (r.destination_from === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: at("destination"),
        message: "give exactly one of destination and destination_from",
      });
    }
    const template = TEMPLATES[r.template];
    if (!template) {
      ctx.addIssue({
        code: "custom",
        path: at("template"),
        message: "unknown template",
      });
    } else if (!template.channels.includes(r.channel)) {
      ctx.addIssue({
        code: "custom",
        path: at("template"),
        message: `template ${r.template} has no ${r.channel} version`,
      });
    }
    if (r.destination !== undefined) {
      const named = r.destination in config.destinations[r.channel];
      const address = r.channel === "email" &&
        emailAddress.safeParse(r.destination).success;
      if (!named && !address) {
        ctx.addIssue({
          code: "custom",
          path: at("destination"),
          message: `no ${r.channel} destination named ${r.destination}`,
        });
      }
    }
  });
});

/** A validated configuration. */
export type NotificationsConfig = z.output<typeof notificationsConfigSchema>;

/**
 * Parses and validates the configuration; throws a `TypeError` listing every problem with its
 * path.
 *
 * @example
 * ```ts
 * const config = parseNotificationsConfig(JSON.parse(await Deno.readTextFile("config/notifications.json")));
 * ```
 */
export function parseNotificationsConfig(raw: unknown): NotificationsConfig {
  const result = notificationsConfigSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`
    );
    throw new TypeError(
      `invalid notifications configuration:\n  ${problems.join("\n  ")}`,
    );
  }
  return result.data;
}
