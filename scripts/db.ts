/**
 * `deno task db:start | db:stop | db:status`: the developer's local PostgreSQL 15 on 127.0.0.1:54322
 * (pg_cron, pg_stat_statements), with the local Supabase compatibility SQL and every migration applied
 * on start.
 * @module
 */
import { runMain, StackError } from "./lib/command.ts";
import { devCluster } from "./lib/pg_cluster.ts";
import { applyCompat, migrateUrl } from "./lib/migrate.ts";

await runMain(async () => {
  const action = Deno.args[0] ?? "status";
  const cluster = devCluster();
  switch (action) {
    case "start": {
      const state = await cluster.start();
      console.log(`postgres ${state} on 127.0.0.1:${cluster.port} (data: ${cluster.dataDir})`);
      if (!Deno.args.includes("--no-migrate")) {
        await applyCompat(cluster.url());
        const applied = await migrateUrl(cluster.url(), { log: console.log });
        console.log(`${applied.length} migration(s) applied`);
      }
      console.log(`url: ${cluster.url()}`);
      break;
    }
    case "stop":
      console.log(`postgres ${await cluster.stop()}`);
      break;
    case "status":
      console.log(
        `postgres ${
          await cluster.isRunning() ? "running" : "not running"
        } on 127.0.0.1:${cluster.port}`,
      );
      break;
    default:
      throw new StackError(`unknown action ${action}; use start, stop or status`);
  }
});
