/**
 * `deno task dev`: the whole backend on 127.0.0.1:54321 — every function behind the local gateway,
 * on embedded PGlite with every migration and demo data, or on a real Postgres with `--db-url URL`
 * (or COMPTOIR_DEV_DB_URL). Prints the keys, the function URLs and a supabase-js snippet.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain, StackError } from "./lib/command.ts";
import { startDevStack } from "./lib/dev_stack.ts";
import { DEFAULT_LOCAL_ALERTMANAGER_TOKEN, DEFAULT_LOCAL_METRICS_TOKEN } from "./lib/local_keys.ts";

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "db-url": { type: "string" },
      port: { type: "string", default: "54321" },
      scale: { type: "string", default: "2" },
      "data-dir": { type: "string" },
      quiet: { type: "boolean", default: false },
    },
  });
  const port = Number(values.port);
  const scale = Number(values.scale);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StackError("bad --port");
  if (!Number.isFinite(scale) || scale < 0) throw new StackError("bad --scale");
  const dbUrl = values["db-url"] ?? Deno.env.get("COMPTOIR_DEV_DB_URL");

  console.log(`starting comptoir on ${dbUrl ? "the Postgres at --db-url" : "embedded PGlite"}…`);
  const started = performance.now();
  let stack;
  try {
    stack = await startDevStack({
      dbUrl,
      port,
      scale,
      pgliteDataDir: values["data-dir"],
      log: (line) => console.log(line),
      accessLog: !values.quiet,
    });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) {
      throw new StackError(`port ${port} is in use; stop the other server or pass --port`);
    }
    throw err;
  }
  const base = stack.gateway.url;
  console.log(`
comptoir is running (${stack.mode === "pglite" ? "embedded PGlite" : "Postgres"}, ready in ${
    ((performance.now() - started) / 1000).toFixed(1)
  } s)

  API URL           ${base}
  Functions         ${
    stack.gateway.functions.map((f) => `${base}/functions/v1/${f.name}`).join(
      "\n                    ",
    )
  }
  Database          ${stack.mode === "pglite" ? stack.functionsDbUrl + " (PGlite)" : "(--db-url)"}
  Auth              ${base}/auth/v1 (local Supabase Auth: email and password)
  anon key          ${stack.anonKey}
  service_role key  ${stack.serviceRoleKey}
  metrics token     ${
    stack.metricsToken === DEFAULT_LOCAL_METRICS_TOKEN
      ? `${DEFAULT_LOCAL_METRICS_TOKEN} (local default; deno task monitoring:up uses it too)`
      : "from COMPTOIR_METRICS_TOKEN"
  }
  alerts token      ${
    stack.alertmanagerToken === DEFAULT_LOCAL_ALERTMANAGER_TOKEN
      ? `${DEFAULT_LOCAL_ALERTMANAGER_TOKEN} (local default; Alertmanager of monitoring:up sends it)`
      : "from COMPTOIR_ALERTMANAGER_TOKEN"
  }
  Protection        ${stack.protection.join("\n                    ")}
  Demo users        ${
    stack.demoUsers.map((u) => `${u.kind.padEnd(8)} ${u.email} / ${u.password}`).join(
      "\n                    ",
    )
  }

  supabase-js:
    import { createClient } from "@supabase/supabase-js";
    const supabase = createClient("${base}", "${stack.anonKey}");
    await supabase.auth.signInWithPassword({ email: "${stack.demoUsers[0].email}", password: "${
    stack.demoUsers[0].password
  }" });
    const { data, error } = await supabase.functions.invoke("api/v1/orders", { method: "GET" });
    console.log(data, error);
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log("shutting down…");
    await stack.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
});
