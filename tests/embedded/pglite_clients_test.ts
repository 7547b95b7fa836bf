/**
 * The database URL `npm run dev` prints for the embedded PGlite serves psql and other clients
 * while the functions serve, each client's transactions whole: nothing a client does inside its
 * transaction mixes with another's on PGlite's single session.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { createClient } from "@supabase/supabase-js";
import { spawn } from "../../scripts/lib/command.ts";
import { PG_BIN } from "../../scripts/lib/executables.ts";
import { startDevServer } from "../_support/dev_server.ts";
import { call } from "../api/_fixtures.ts";

/** Starts psql on `url` with `script` on stdin; resolves to its output. */
function psql(url: string, script: string) {
  const child = spawn(`${PG_BIN}/psql`, {
    args: [url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const writer = child.stdin.getWriter();
  writer.write(new TextEncoder().encode(script)).then(() => writer.close());
  return {
    child,
    done: child.output().then((out) => ({
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    })),
  };
}

Deno.test("the printed PGlite URL serves psql and postgres.js while the functions serve", async (t) => {
  const server = await startDevServer({ scale: 0.2, timeoutMs: 120_000 });
  try {
    const url = /Database\s+(postgresql:\/\/\S+) \(PGlite\)/.exec(server.output())?.[1];
    assert.ok(url, server.output());
    // The start-up banner says what protects the api, in lines a person reads.
    assert.match(server.output(), /Protection +rate limits counted in postgres/);
    assert.match(server.output(), /warning: per-address limits \(catalog, inventory, auth\)/);
    const direct = postgres(url, { max: 2, onnotice: () => {} });
    try {
      const [stocked] = await direct`
        select product_id from public.inventory where on_hand - reserved >= 10
        order by product_id limit 1`;
      const shopper = createClient(server.url, server.anonKey, {
        auth: { persistSession: false, autoRefreshToken: false },
      });
      const signIn = await shopper.auth.signInWithPassword({
        email: "customer@comptoir.test",
        password: "comptoir-customer",
      });
      assert.equal(signIn.error, null);

      await t.step(
        "a psql transaction is whole while orders are placed through the api",
        async () => {
          const slug = `psql-${Date.now().toString(36)}`;
          const session = psql(
            url,
            `set search_path = shop_api, public;
           begin;
           insert into public.categories (name, slug) values ('open in psql', '${slug}');
           select pg_sleep(1.5);
           select 'inside:' || count(*) from public.categories where slug = '${slug}';
           rollback;
           set role authenticated;
           select pg_sleep(0.2);
           select 'path:' || current_setting('search_path');
           select 'role:' || current_user;\n`,
          );
          // While psql holds its transaction, then between its statements with its own search_path
          // and role, the functions place orders as the signed-in customer.
          await new Promise((resolve) => setTimeout(resolve, 300));
          const placed = await Promise.all(
            [1, 2, 3].map(() =>
              call(shopper, "api/v1/orders", {
                method: "POST",
                body: { items: [{ product_id: Number(stocked.product_id), quantity: 1 }] },
              })
            ),
          );
          const out = await session.done;
          assert.equal(out.code, 0, out.stderr);
          for (const res of placed) assert.equal(res.status, 201, JSON.stringify(res.body));
          assert.match(out.stdout, /^inside:1$/m);
          assert.match(out.stdout, /^path:shop_api, public$/m);
          assert.match(out.stdout, /^role:authenticated$/m);
          // psql's ROLLBACK took nothing of the functions' work with it.
          const ids = placed.map((res) => Number(res.body.id));
          const [{ n }] =
            await direct`select count(*)::int as n from public.orders where id = any(${ids})`;
          assert.equal(n, 3);
          const [{ gone }] = await direct`
          select count(*)::int as gone from public.categories where slug = ${slug}`;
          assert.equal(gone, 0);
        },
      );

      await t.step("prepared statements of two clients and the functions do not mix", async () => {
        const answers = await Promise.all(
          Array.from(
            { length: 40 },
            (_, i) =>
              i % 4 === 0
                ? call(shopper, "api/v1/orders").then((res) => res.status)
                : direct`select ${i}::int as i, pg_backend_pid() >= 0 as ok`.then((rows) =>
                  rows[0].i
                ),
          ),
        );
        answers.forEach((answer, i) => assert.equal(answer, i % 4 === 0 ? 200 : i));
      });

      await t.step("a client that dies inside a transaction leaves nothing behind", async () => {
        const slug = `dead-${Date.now().toString(36)}`;
        const session = psql(
          url,
          `begin;
           insert into public.categories (name, slug) values ('never committed', '${slug}');
           select pg_sleep(0.5);\n`,
        );
        // Killed during the sleep: the connection drops with the transaction open.
        await new Promise((resolve) => setTimeout(resolve, 250));
        session.child.kill("SIGKILL");
        await session.done;
        const res = await call(shopper, "api/v1/orders");
        assert.equal(res.status, 200);
        const [{ n }] = await direct`
          select count(*)::int as n from public.categories where slug = ${slug}`;
        assert.equal(n, 0);
      });
    } finally {
      await direct.end();
    }
  } finally {
    await server.stop();
  }
});
