/**
 * The `health` function: liveness (`GET /health/live`) and readiness (`GET /health`, database status
 * and latency, version, uptime) for load-balancer probes and the ServiceDown / DatabaseDown alerts.
 * @module
 */
import { createFunctionApp } from "../_shared/http/create_app.ts";
import { getDb } from "../_shared/db/client.ts";
import { STARTED_AT, VERSION } from "../_shared/version.ts";

/** How long readiness waits for the database before calling it down. */
const DB_CHECK_TIMEOUT_MS = 2000;

const app = createFunctionApp("health");

app.get("/live", (c) => c.json({ status: "ok" }));

app.get("/", async (c) => {
  const database = await checkDatabase();
  const body = {
    status: database.status === "up" ? "ok" : "unavailable",
    version: VERSION,
    uptime_seconds: Math.round((Date.now() - STARTED_AT) / 1000),
    checks: { database },
  };
  c.header("cache-control", "no-store");
  // application/json rather than application/health+json: supabase-js parses only the former.
  return c.json(body, database.status === "up" ? 200 : 503);
});

interface DatabaseCheck {
  status: "up" | "down";
  latency_ms: number;
  error?: string;
}

async function checkDatabase(): Promise<DatabaseCheck> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${DB_CHECK_TIMEOUT_MS} ms`)),
        DB_CHECK_TIMEOUT_MS,
      );
    });
    await Promise.race([getDb()`select 1`.execute(), timeout]);
    return { status: "up", latency_ms: round(performance.now() - started) };
  } catch (err) {
    return {
      status: "down",
      latency_ms: round(performance.now() - started),
      error: describe(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** A short cause safe to show to anonymous probes: never a host name or a message with secrets. */
function describe(err: unknown): string {
  if (err instanceof Error && err.message.startsWith("no answer within")) return "timeout";
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return `sqlstate ${code}`;
  return "unreachable";
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

export default app;
