/**
 * Writes `config/notifications.json` (validated by the notifications function's schema) and the
 * template registry to the outbox tables in one transaction: templates, destinations, routes and
 * the sender address. What the file no longer lists is removed, so the database says what the
 * file says. Messages already queued keep the destination name they were queued with.
 * @module
 */
import {
  type NotificationsConfig,
  parseNotificationsConfig,
} from "../../supabase/functions/notifications/config.ts";
import { TEMPLATES } from "../../supabase/functions/notifications/templates/registry.ts";
import type { SqlRunner } from "./sql_runner.ts";

/** The configuration file of the repository. */
export const NOTIFICATIONS_CONFIG = new URL("../../config/notifications.json", import.meta.url);

/** What a sync wrote. */
export interface SyncSummary {
  templates: number;
  destinations: number;
  routes: number;
}

/**
 * Reads and validates the configuration file (throws a `TypeError` naming every problem).
 *
 * @example
 * ```ts
 * const config = await readNotificationsConfig();
 * ```
 */
export async function readNotificationsConfig(
  file: URL | string = NOTIFICATIONS_CONFIG,
): Promise<NotificationsConfig> {
  return parseNotificationsConfig(JSON.parse(await Deno.readTextFile(file)));
}

/**
 * Replaces the outbox's templates, destinations and routes with `config`'s.
 *
 * @example
 * ```ts
 * await syncNotifications(postgresRunner(url), await readNotificationsConfig());
 * ```
 */
export function syncNotifications(
  db: SqlRunner,
  config: NotificationsConfig,
): Promise<SyncSummary> {
  const templates = Object.values(TEMPLATES).map((t) => ({
    name: t.name,
    channels: t.channels,
    required: t.required,
    description: t.description,
  }));
  const destinations = Object.entries(config.destinations).flatMap(([channel, byName]) =>
    Object.entries(byName).map(([name, { locale, ...rest }]) => ({
      channel,
      name,
      locale,
      config: rest,
    }))
  );
  const routes = config.routes.map((r) => ({
    name: r.name,
    event: r.event,
    channel: r.channel,
    destination: r.destination ?? null,
    destination_path: r.destination_from?.split(".") ?? null,
    template: r.template,
    match: r.match,
    enabled: r.enabled,
  }));
  return db.transaction(async (tx) => {
    // Routes first: they name templates and destinations.
    await tx.exec("delete from notify.routes");
    await tx.query(
      `insert into notify.templates (name, channels, required, description)
       select t.name, t.channels, t.required, t.description
       from jsonb_to_recordset($1::jsonb) as t(name text, channels text[], required text[], description text)
       on conflict (name) do update set channels = excluded.channels, required = excluded.required,
         description = excluded.description`,
      [templates],
    );
    await tx.query("delete from notify.templates where not (name = any ($1::text[]))", [
      templates.map((t) => t.name),
    ]);
    await tx.exec("delete from notify.destinations");
    await tx.query(
      `insert into notify.destinations (channel, name, locale, config)
       select d.channel, d.name, d.locale, d.config
       from jsonb_to_recordset($1::jsonb) as d(channel text, name text, locale text, config jsonb)`,
      [destinations],
    );
    await tx.query(
      `insert into notify.routes (name, event, channel, destination, destination_path, template,
                                  match, enabled)
       select r.name, r.event, r.channel, r.destination, r.destination_path, r.template, r.match,
              r.enabled
       from jsonb_to_recordset($1::jsonb) as r(name text, event text, channel text,
         destination text, destination_path text[], template text, match jsonb, enabled boolean)`,
      [routes],
    );
    await tx.query("update notify.settings set email_from = $1 where id", [config.email.from]);
    return {
      templates: templates.length,
      destinations: destinations.length,
      routes: routes.length,
    };
  });
}
