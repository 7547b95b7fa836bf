import assert from "node:assert/strict";
import postgres from "postgres";
import { recordEvent } from "./log_event.ts";
import { authorizationRefused } from "./events.ts";

const caller = { claims: { role: "anon" }, requestId: "req-test" };
const event = authorizationRefused({
  method: "GET",
  route: "/api/v2/admin/audit",
  required: ["admin"],
});

Deno.test("recordEvent() resolves false and logs when the database is unreachable", async () => {
  // A port nothing listens on: the connection is refused at once.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const sql = postgres(`postgresql://postgres:postgres@127.0.0.1:${port}/postgres`, {
    max: 1,
    connect_timeout: 2,
    onnotice: () => {},
  });
  const logged: Record<string, unknown>[] = [];
  try {
    const written = await recordEvent(sql, caller, event, { log: (r) => logged.push(r) });
    assert.equal(written, false);
    assert.equal(logged.length, 1);
    assert.equal(logged[0].msg, "audit event not recorded");
    assert.equal(logged[0].action, "authorization.refused");
    assert.ok(!JSON.stringify(logged[0]).includes("postgres:postgres"), "no secret in the log");
  } finally {
    await sql.end({ timeout: 1 });
  }
});

Deno.test("recordEvent() writes the event for the caller when the database answers", async () => {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the suite with `deno task test`");
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const requestId = `req-${crypto.randomUUID()}`;
    assert.equal(await recordEvent(sql, { ...caller, requestId }, event), true);
    const [row] = await sql`
      select op, action, target, auth_role, request_id from audit.record_version
      where request_id = ${requestId}`;
    assert.deepEqual(
      { ...row },
      {
        op: "EVENT",
        action: "authorization.refused",
        target: "GET /api/v2/admin/audit",
        auth_role: "anon",
        request_id: requestId,
      },
    );
  } finally {
    await sql.end();
  }
});
