/**
 * `deno task test` (the README's test command): installs what the suite needs (Debian packages when
 * run as root), checks that every program of `lib/executables.ts` is there (one message naming each
 * missing one and its package, before anything starts), starts a throwaway PostgreSQL 15 cluster with pg_cron and pg_stat_statements, applies
 * the migrations with this project's runner and with the real Supabase CLI, lints them with
 * `supabase db lint`, seeds demo data, then runs formatting/lint/type checks, pgTAP (pg_prove) and
 * every Deno test, stops what it started, and prints `N passed, N failed` across all of them.
 * @module
 */
import { parseArgs } from "node:util";
import { requireExecutables, runMain, spawn, StackError } from "./lib/command.ts";
import { ensurePackages, TEST_PACKAGES } from "./lib/debian_packages.ts";
import { EXECUTABLES, SUPABASE_CLI as CLI } from "./lib/executables.ts";
import { clusterDataDir, PgCluster } from "./lib/pg_cluster.ts";
import { applyCompat, migrateUrl } from "./lib/migrate.ts";
import { seedDatabase, seedPlan } from "./lib/seed.ts";
import { postgresRunner } from "./lib/sql_runner.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DENO = Deno.execPath();
const SUPABASE_CLI = ["-y", `${CLI.package}@${CLI.version}`];
/** Port of the throwaway cluster; COMPTOIR_TEST_PG_PORT moves it (two checkouts at once). */
const TEST_PG_PORT = Number(Deno.env.get("COMPTOIR_TEST_PG_PORT") ?? 54332);

interface SuiteResult {
  name: string;
  passed: number;
  failed: number;
}

await runMain(async () => {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      "skip-checks": { type: "boolean", default: false },
      "only-deno": { type: "boolean", default: false },
    },
  });
  const results: SuiteResult[] = [];
  await ensurePackages(TEST_PACKAGES, { install: true });
  // Every program of the manifest, before anything starts: one message naming what is missing.
  requireExecutables(EXECUTABLES);

  const cluster = new PgCluster({ dataDir: clusterDataDir("test-postgres"), port: TEST_PG_PORT });
  await cluster.destroy();
  await cluster.start();
  console.log(`test postgres on 127.0.0.1:${TEST_PG_PORT}`);
  try {
    const url = cluster.url();
    await applyCompat(url);
    const applied = await migrateUrl(url);
    console.log(`migrations applied by the runner: ${applied.length}`);
    const db = postgresRunner(url);
    try {
      await seedDatabase(db, seedPlan(2, 42));
    } finally {
      await db.close();
    }

    if (!values["only-deno"]) {
      results.push(await supabaseCliSuite(cluster));
      results.push(await pgTapSuite(cluster));
    }
    if (!values["skip-checks"] && !values["only-deno"]) results.push(await checkSuite());
    results.push(await denoTestSuite(cluster, positionals));
  } finally {
    await cluster.stop();
  }

  const passed = results.reduce((sum, r) => sum + r.passed, 0);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  console.log("\nsummary:");
  for (const r of results) {
    console.log(`  ${r.name.padEnd(22)} ${r.passed} passed, ${r.failed} failed`);
  }
  console.log(`${passed} passed, ${failed} failed`);
  if (failed > 0 || passed === 0) Deno.exit(1);
});

/** Streams a command's output and returns its exit code and text. */
async function stream(cmd: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(cmd, { args, cwd: ROOT, env, stdout: "piped", stderr: "piped" });
  let text = "";
  const pump = async (readable: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    const decoder = new TextDecoder();
    for await (const chunk of readable) {
      text += decoder.decode(chunk, { stream: true });
      await sink.write(chunk);
    }
  };
  await Promise.all([pump(child.stdout, Deno.stdout), pump(child.stderr, Deno.stderr)]);
  const { code } = await child.status;
  return { code, text };
}

/** The real Supabase CLI applies every migration to a fresh database and lints the schema. */
async function supabaseCliSuite(cluster: PgCluster): Promise<SuiteResult> {
  console.log("\n== supabase CLI: migration up + db lint");
  const admin = postgresRunner(cluster.url());
  try {
    await admin.exec("drop database if exists cli_check");
    await admin.exec("create database cli_check");
  } finally {
    await admin.close();
  }
  const cliUrl = cluster.url("cli_check") + "?sslmode=disable";
  await applyCompat(cluster.url("cli_check"));
  const result: SuiteResult = { name: "supabase CLI", passed: 0, failed: 0 };
  const up = await stream("npx", [...SUPABASE_CLI, "migration", "up", "--db-url", cliUrl]);
  up.code === 0 ? result.passed++ : result.failed++;
  const lint = await stream("npx", [
    ...SUPABASE_CLI,
    "db",
    "lint",
    "--db-url",
    cluster.url() + "?sslmode=disable",
    "--schema",
    "public,private,demo,shop_api,notify",
    "--fail-on",
    "error",
  ]);
  lint.code === 0 ? result.passed++ : result.failed++;
  return result;
}

/** pgTAP files with pg_prove; every `ok` / `not ok` line counts, a file that dies counts as one failure. */
async function pgTapSuite(cluster: PgCluster): Promise<SuiteResult> {
  console.log("\n== pgTAP (pg_prove)");
  const files: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}supabase/tests/database`)) {
    if (entry.name.endsWith(".test.sql")) files.push(`supabase/tests/database/${entry.name}`);
  }
  files.sort();
  const result: SuiteResult = { name: "pgTAP", passed: 0, failed: 0 };
  if (files.length === 0) return result;
  const { code, text } = await stream("pg_prove", [
    "--verbose",
    "-h",
    "127.0.0.1",
    "-p",
    String(cluster.port),
    "-U",
    "postgres",
    "-d",
    "postgres",
    ...files,
  ], { PGPASSWORD: "postgres" });
  for (const line of text.split("\n")) {
    if (/^\s*ok \d+/.test(line)) result.passed++;
    else if (/^\s*not ok \d+/.test(line)) result.failed++;
  }
  if (code !== 0 && result.failed === 0) result.failed++;
  return result;
}

/** Formatting, lint and type-check of every entrypoint, script and test: one result each. */
async function checkSuite(): Promise<SuiteResult> {
  console.log("\n== deno fmt --check, deno lint, deno check");
  const result: SuiteResult = { name: "fmt / lint / check", passed: 0, failed: 0 };
  const entrypoints = await typeCheckTargets();
  for (
    const args of [
      ["fmt", "--check"],
      ["lint"],
      ["check", ...entrypoints],
    ]
  ) {
    const { code } = await stream(DENO, args);
    code === 0 ? result.passed++ : result.failed++;
  }
  return result;
}

/** Every function entrypoint, script and test file. */
async function typeCheckTargets(): Promise<string[]> {
  const targets: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}supabase/functions`)) {
    if (entry.isDirectory && !entry.name.startsWith("_")) {
      targets.push(`supabase/functions/${entry.name}/index.ts`);
    }
  }
  targets.push("supabase/functions/_shared", "scripts", "tests");
  return targets;
}

/** Every Deno test, with the test cluster's URL in the environment. */
async function denoTestSuite(cluster: PgCluster, filters: string[]): Promise<SuiteResult> {
  console.log("\n== deno test");
  const { code, text } = await stream(DENO, ["test", "-A", "--no-check", ...filters], {
    TEST_DATABASE_URL: cluster.url(),
    TEST_PG_DATA_DIR: cluster.dataDir,
    TEST_PG_PORT: String(cluster.port),
  });
  const match = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(text);
  if (!match) {
    if (code !== 0) return { name: "deno test", passed: 0, failed: 1 };
    throw new StackError("deno test printed no summary line");
  }
  const result = { name: "deno test", passed: Number(match[1]), failed: Number(match[2]) };
  if (code !== 0 && result.failed === 0) result.failed++;
  return result;
}
