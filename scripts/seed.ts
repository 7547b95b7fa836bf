/**
 * `deno task seed --scale N [--seed S] [--db-url URL] [--reset]`: generates N×1,000 orders (and
 * N×100 products, max(12, N) categories, N×100 customers) into the shop schema, deterministically from
 * the seed, with a progress bar. Targets the local cluster on 54322 unless `--db-url` says otherwise.
 * `--reset` empties the shop tables first.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain, StackError } from "./lib/command.ts";
import { devCluster } from "./lib/pg_cluster.ts";
import { hasShopData, progressBar, seedDatabase, seedPlan } from "./lib/seed.ts";
import { postgresRunner } from "./lib/sql_runner.ts";

await runMain(async () => {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      scale: { type: "string", default: "2" },
      seed: { type: "string", default: "42" },
      "db-url": { type: "string" },
      reset: { type: "boolean", default: false },
      chunk: { type: "string", default: "50000" },
    },
  });
  const scale = Number(values.scale);
  const seed = Number(values.seed);
  if (!Number.isFinite(scale) || scale <= 0) {
    throw new StackError("--scale must be a positive number");
  }
  if (!Number.isInteger(seed)) throw new StackError("--seed must be an integer");
  const url = values["db-url"] ?? Deno.env.get("DATABASE_URL") ?? devCluster().url();
  const db = postgresRunner(url);
  try {
    if (values.reset) await db.query("select demo.reset()");
    else if (await hasShopData(db)) {
      throw new StackError("the shop already has data; pass --reset to replace it");
    }
    const plan = seedPlan(scale, seed);
    console.log(
      `generating ${plan.orders.toLocaleString("en-US")} orders, ${
        plan.products.toLocaleString("en-US")
      } products, ` +
        `${plan.categories} categories, ${
          plan.customers.toLocaleString("en-US")
        } customers (seed ${seed})`,
    );
    const started = performance.now();
    const tty = Deno.stdout.isTerminal();
    await seedDatabase(db, plan, {
      chunk: Number(values.chunk),
      onProgress: (done, total) => {
        const line = progressBar(done, total, started);
        if (tty) Deno.stdout.writeSync(new TextEncoder().encode(`\r${line}`));
        else if (done === total || done % (Number(values.chunk) * 4) === 0) console.log(line);
      },
    });
    if (tty) console.log();
    const [counts] = await db.query<Record<string, string>>(`
      select (select count(*) from public.orders) as orders,
             (select count(*) from public.order_items) as order_items,
             (select count(*) from public.products) as products,
             (select count(*) from public.categories) as categories,
             (select count(*) from public.customers) as customers`);
    console.log(
      `done in ${((performance.now() - started) / 1000).toFixed(1)} s: ` +
        Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(" "),
    );
  } finally {
    await db.close();
  }
});
