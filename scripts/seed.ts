/**
 * `deno task seed --scale N [--seed S] [--db-url URL] [--reset]`: generates N×1,000 orders (and
 * N×100 products, max(12, N) categories, N×100 customers) into the shop schema, deterministically from
 * the seed, with a progress bar. Targets the local cluster on 54322 unless `--db-url` says otherwise.
 * `--reset` empties the shop tables first; `--report` writes docs/benchmarks/seed.md with the
 * measured time and row counts.
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
      report: { type: "boolean", default: false },
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
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `done in ${seconds.toFixed(1)} s: ` +
        Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(" "),
    );
    if (values.report) await writeReport(plan, seconds, counts, Number(values.chunk));
  } finally {
    await db.close();
  }
});

async function writeReport(
  plan: ReturnType<typeof seedPlan>,
  seconds: number,
  counts: Record<string, string>,
  chunk: number,
) {
  const rows = Object.entries(counts).map(([table, n]) =>
    `| ${table} | ${Number(n).toLocaleString("en-US")} |`
  );
  const report = `# Data generator

Produced by \`deno task seed --scale ${plan.scale} --reset --report\` on ${
    new Date().toISOString().slice(0, 10)
  }, against the local PostgreSQL 15 cluster (\`deno task db:start\`, 127.0.0.1:54322) on a
${navigator.hardwareConcurrency}-core machine; seed ${plan.seed}, chunks of ${
    chunk.toLocaleString("en-US")
  } orders, ${plan.days} days of history.

Total time: **${seconds.toFixed(1)} s** (${
    Math.round(plan.orders / seconds).toLocaleString("en-US")
  } orders/s),
including the catalog, customers, orders with their lines, and the final ANALYZE.

| table | rows |
| --- | ---: |
${rows.join("\n")}
`;
  const path = new URL("../docs/benchmarks/seed.md", import.meta.url);
  await Deno.mkdir(new URL(".", path), { recursive: true });
  await Deno.writeTextFile(path, report);
  console.log("report written to docs/benchmarks/seed.md");
}
