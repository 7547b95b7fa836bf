/**
 * Reads `supabase/config.toml` the way `supabase functions serve` does for what the gateway needs:
 * which functions exist and whether each verifies the caller's JWT (`verify_jwt`, true by default).
 * @module
 */
import { parse } from "smol-toml";

/** Folder of the functions. */
export const FUNCTIONS_DIR = new URL("../../supabase/functions/", import.meta.url);

/** One function the gateway serves. */
export interface FunctionEntry {
  name: string;
  verifyJwt: boolean;
  /** Module whose default export is the function's Hono app. */
  appModule: URL;
}

/** Lists the functions: every folder of supabase/functions with an app.ts, not starting with `_`. */
export async function readFunctions(
  configToml: URL = new URL("../config.toml", FUNCTIONS_DIR),
): Promise<FunctionEntry[]> {
  const config = parse(await Deno.readTextFile(configToml)) as {
    functions?: Record<string, { verify_jwt?: boolean; enabled?: boolean }>;
  };
  const entries: FunctionEntry[] = [];
  for await (const dir of Deno.readDir(FUNCTIONS_DIR)) {
    if (!dir.isDirectory || dir.name.startsWith("_") || dir.name.startsWith(".")) continue;
    const appModule = new URL(`${dir.name}/app.ts`, FUNCTIONS_DIR);
    try {
      await Deno.stat(appModule);
    } catch {
      continue;
    }
    const settings = config.functions?.[dir.name] ?? {};
    if (settings.enabled === false) continue;
    entries.push({ name: dir.name, verifyJwt: settings.verify_jwt ?? true, appModule });
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}
