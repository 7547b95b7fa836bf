/**
 * Each function deploys with its own `deno.json` import map (the Supabase CLI's recommended layout);
 * they are generated from the root deno.json so versions have one source of truth. Dev-only
 * packages (embedded Postgres, test and scheduling tools) are left out.
 * @module
 */
import { readFunctions } from "./functions_config.ts";

const ROOT_CONFIG = new URL("../../deno.json", import.meta.url);

/** Import-map keys the functions never load at run time. */
const DEV_ONLY = /^(@electric-sql\/|fast-check|csv-parse|croner|smol-toml|yaml|@shared\/)/;

/** The import map every function gets. */
export async function functionImportMap(): Promise<Record<string, string>> {
  const root = JSON.parse(await Deno.readTextFile(ROOT_CONFIG)) as {
    imports: Record<string, string>;
  };
  return Object.fromEntries(Object.entries(root.imports).filter(([key]) => !DEV_ONLY.test(key)));
}

/** The deno.json text of a function. */
export async function functionConfigText(): Promise<string> {
  return JSON.stringify({ imports: await functionImportMap() }, null, 2) + "\n";
}

/** Paths of functions whose deno.json differs from the generated one. */
export async function staleFunctionConfigs(): Promise<string[]> {
  const expected = await functionConfigText();
  const stale: string[] = [];
  for (const fn of await readFunctions()) {
    const path = new URL("deno.json", fn.appModule);
    const actual = await Deno.readTextFile(path).catch(() => "");
    if (actual !== expected) stale.push(path.pathname);
  }
  return stale;
}

/** Writes every function's deno.json. */
export async function writeFunctionConfigs(): Promise<string[]> {
  const text = await functionConfigText();
  const written: string[] = [];
  for (const fn of await readFunctions()) {
    const path = new URL("deno.json", fn.appModule);
    await Deno.writeTextFile(path, text);
    written.push(path.pathname);
  }
  return written;
}
