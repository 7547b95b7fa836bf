/**
 * `deno task notify:sync [--db-url URL] [--config FILE]`: validates `config/notifications.json`
 * (or FILE) and writes its destinations and routes, with the template registry, to the database
 * at `--db-url`, `DATABASE_URL`, or the local cluster on 54322. Run it after changing the file.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain } from "./lib/command.ts";
import { readNotificationsConfig, syncNotifications } from "./lib/notify_sync.ts";
import { devCluster } from "./lib/pg_cluster.ts";
import { postgresRunner } from "./lib/sql_runner.ts";

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: { "db-url": { type: "string" }, config: { type: "string" } },
  });
  const config = await readNotificationsConfig(values.config);
  const url = values["db-url"] ?? Deno.env.get("DATABASE_URL") ?? devCluster().url();
  const db = postgresRunner(url);
  try {
    const summary = await syncNotifications(db, config);
    console.log(
      `notifications: ${summary.templates} templates, ${summary.destinations} destinations, ` +
        `${summary.routes} routes`,
    );
  } finally {
    await db.close();
  }
});
