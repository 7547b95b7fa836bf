/**
 * Who a per-address limit counts: the connection's peer address when the function is reached
 * directly (the local stack), the entry the trusted proxy appended otherwise, and never a header a
 * client chooses. Clients whose address cannot be known share one small bucket of their own, so
 * one of them can neither lock out the clients that are known nor get unlimited requests, and a
 * deployment that gives no way to tell clients apart does not start.
 */
import assert from "node:assert/strict";
import {
  createUser,
  fixtureDb,
  protectionLine,
  request,
  startServer,
  uniqueIp,
} from "./support.ts";

// A fixed window of an hour: counts do not decay while a test runs.
const catalog = (limit: number) =>
  JSON.stringify({ catalog: { algorithm: "fixed_window", limit, windowMs: 3_600_000 } });

Deno.test("directly reached, per-address limits count the connection's peer address", async () => {
  const sql = fixtureDb();
  // No COMPTOIR_TRUSTED_PROXY: the local stack is reached directly.
  const server = await startServer({ COMPTOIR_RATE_LIMITS: catalog(100_000) });
  try {
    const line = protectionLine(server);
    assert.equal(line.level, "info");
    assert.equal((line.rate_limit as Record<string, unknown>).client_address, "connection peer");
    const chosen = [uniqueIp(), uniqueIp()];
    const res = await request(server, "api/v1/categories", {
      headers: { "x-forwarded-for": chosen[0], "x-real-ip": chosen[1] },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("ratelimit-policy"), `"catalog";q=100000;w=3600`);
    const keys = (await sql`
      select key from rate_limit.counters where key like 'catalog:ip:%' order by key`)
      .map((r) => r.key);
    assert.ok(keys.includes("catalog:ip:127.0.0.1"), JSON.stringify(keys));
    assert.ok(
      // Other tests of the run count their own addresses in the same table: look for these two.
      !keys.some((k) => chosen.some((ip) => k === `catalog:ip:${ip}`)),
      `a client-chosen header was counted: ${keys}`,
    );
  } finally {
    await server.stop();
    await sql.end();
  }
});

Deno.test("behind a proxy, clients of unknown address share a small bucket of their own", async () => {
  const sql = fixtureDb();
  const server = await startServer({
    COMPTOIR_TRUSTED_PROXY: "1",
    COMPTOIR_RATE_LIMITS: catalog(200),
  });
  try {
    const customer = await createUser(server, sql);
    // Garbage, a missing hop, or only X-Real-IP: the address is unknown.
    const unknown: Record<string, string>[] = [
      { "x-forwarded-for": "garbage" },
      { "x-real-ip": uniqueIp() },
      {},
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 30 && !statuses.includes(429); i++) {
      const res = await request(server, "api/v1/products?limit=1", { headers: unknown[i % 3] });
      statuses.push(res.status);
      if (res.status === 200) {
        // Its own, small, limit: not the 200 known clients get.
        const q = Number(/q=(\d+)/.exec(res.headers.get("ratelimit-policy") ?? "")?.[1]);
        assert.ok(q >= 1 && q <= 20, `unknown bucket limit ${q}`);
      }
    }
    assert.equal(statuses.at(-1), 429, `unknown clients were never limited: ${statuses}`);
    assert.ok(statuses.length <= 20, `the unknown bucket is not small: ${statuses.length}`);
    const limited = await request(server, "api/v1/categories", { headers: unknown[1] });
    assert.equal(limited.status, 429);
    // Known clients, anonymous or signed in, keep their own counters.
    for (const token of [undefined, customer.token]) {
      for (const path of ["api/v1/products?limit=1", "api/v2/categories"]) {
        const res = await request(server, path, { ip: uniqueIp(), token });
        assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
        assert.equal(res.headers.get("ratelimit-policy"), `"catalog";q=200;w=3600`);
      }
    }
  } finally {
    await server.stop();
    await sql.end();
  }
});

Deno.test("one client using up the catalog limit locks out nobody else (the reported attack)", async () => {
  const sql = fixtureDb();
  // The shipped limit, 600 per address, in a fixed window of an hour so that no window edge
  // passes while the test runs (a sliding window lets a few more through across an edge).
  const server = await startServer({
    COMPTOIR_TRUSTED_PROXY: "1",
    COMPTOIR_RATE_LIMITS: catalog(600),
  });
  try {
    const intoHour = Date.now() % 3_600_000;
    if (intoHour > 3_600_000 - 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 3_600_000 - intoHour + 100));
    }
    const customer = await createUser(server, sql);
    const attacker = uniqueIp();
    const started = performance.now();
    const statuses: number[] = [];
    for (let sent = 0; sent < 601; sent += 10) {
      const batch = Array.from(
        { length: Math.min(10, 601 - sent) },
        () => request(server, "api/v1/products?limit=1", { ip: attacker }),
      );
      statuses.push(...(await Promise.all(batch)).map((r) => r.status));
    }
    const seconds = (performance.now() - started) / 1000;
    console.info(
      `attacker: ${statuses.filter((s) => s === 200).length} allowed, ` +
        `${statuses.filter((s) => s === 429).length} limited in ${seconds.toFixed(1)} s`,
    );
    assert.equal(statuses.filter((s) => s === 200).length, 600);
    assert.equal((await request(server, "api/v1/products", { ip: attacker })).status, 429);
    for (const token of [undefined, customer.token]) {
      for (const path of ["api/v1/products?limit=1", "api/v1/categories"]) {
        const res = await request(server, path, { ip: uniqueIp(), token });
        assert.equal(res.status, 200, `${path} for another client: ${JSON.stringify(res.body)}`);
      }
    }
  } finally {
    await server.stop();
    await sql.end();
  }
});

Deno.test("a hosted function with per-address limits and no COMPTOIR_TRUSTED_PROXY refuses to start", async () => {
  const app = new URL("../../supabase/functions/api/app.ts", import.meta.url).href;
  const root = new URL("../../", import.meta.url);
  // What the edge runtime does: import the function with the project's secrets, nothing else.
  const run = async (env: Record<string, string>) => {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["eval", `await import(${JSON.stringify(app)});`],
      cwd: root,
      env: {
        COMPTOIR_METRICS: "off",
        COMPTOIR_RATE_LIMIT_BACKEND: "postgres",
        COMPTOIR_TRUSTED_PROXY: "",
        SUPABASE_URL: "https://project.supabase.co",
        ...env,
      },
      stdout: "null",
      stderr: "piped",
    }).output();
    return { code, stderr: new TextDecoder().decode(stderr) };
  };
  const refused = await run({});
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /COMPTOIR_TRUSTED_PROXY/);
  const configured = await run({ COMPTOIR_TRUSTED_PROXY: "1" });
  assert.equal(configured.code, 0, configured.stderr);
});
