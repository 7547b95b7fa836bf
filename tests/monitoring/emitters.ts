/**
 * Which metric families production code emits, read from the source: a family is emitted when
 * its name is written, as a string, inside a function of a production module (supabase/functions/,
 * not a `*_test.ts` or `test_support.ts`) and that function is called or passed somewhere in
 * production code outside its own declaration; or when a SQL migration writes the name as a
 * literal (families computed by the database at scrape time). A hook nobody calls, a table of
 * names (families.ts), a comment or an example emits nothing.
 * @module
 */

/** One source file. */
export interface SourceFile {
  path: string;
  text: string;
}

/** Where a family is written and by which function. */
export interface EmissionSite {
  family: string;
  path: string;
  fn: string;
}

const TOP_FUNCTION = /^(?:export\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)/;
const METHOD = /^ {2}(?:static\s+)?(?:async\s+)?(#?[A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\([^;]*\{\s*$/;
const FAMILY_LITERAL = /"(comptoir_[a-z0-9_]+)"/g;

/** Removes comments and import statements, which call nothing. */
export function codeOf(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`])\/\/[^\n]*/g, "$1")
    .replace(/^import\b[\s\S]*?from\s*"[^"]*";/gm, (c) => c.replace(/[^\n]/g, " "));
}

/** Family names written inside functions or methods of `file`, with the function's name. */
export function emissionSites(file: SourceFile): EmissionSite[] {
  const sites: EmissionSite[] = [];
  let top: string | undefined;
  let method: string | undefined;
  for (const line of codeOf(file.text).split("\n")) {
    const topMatch = TOP_FUNCTION.exec(line);
    if (topMatch) {
      top = topMatch[1];
      method = undefined;
    } else if (/^(?:export\s+)?class\b/.test(line)) {
      top = undefined;
      method = undefined;
    } else {
      const methodMatch = METHOD.exec(line);
      if (methodMatch && !/^ {2}(if|for|while|switch|catch|return)\b/.test(line)) {
        method = methodMatch[1];
      }
    }
    const fn = method ?? top;
    if (fn !== undefined) {
      for (const match of line.matchAll(FAMILY_LITERAL)) {
        sites.push({ family: match[1], path: file.path, fn });
      }
    }
    if (line === "}") top = method = undefined;
    if (line === "  }") method = undefined;
  }
  return sites;
}

function escape(name: string): string {
  return name.replace(/[$#]/g, "\\$&");
}

/** Whether `fn` is called or passed in `files` anywhere but where it is declared. */
export function isUsed(fn: string, files: readonly SourceFile[]): boolean {
  const name = escape(fn);
  const use = new RegExp(`(?<![\\w$#])${name}(?![\\w$])`, "g");
  const declaration = new RegExp(
    `(?:function\\s*\\*?\\s*${name}\\b|^ {2}(?:static\\s+)?(?:async\\s+)?${name}\\s*(?:<[^>]*>)?\\([^;]*\\{\\s*$)`,
  );
  for (const file of files) {
    for (const line of codeOf(file.text).split("\n")) {
      if (declaration.test(line)) continue;
      if (use.test(line)) return true;
      use.lastIndex = 0;
    }
  }
  return false;
}

/**
 * The families emitted by `ts` (production modules) and `sql` (migrations), each with one place
 * that emits it.
 */
export function emittedFamilies(
  ts: readonly SourceFile[],
  sql: readonly SourceFile[],
): Map<string, string> {
  const emitted = new Map<string, string>();
  const used = new Map<string, boolean>();
  for (const file of ts) {
    for (const site of emissionSites(file)) {
      if (emitted.has(site.family)) continue;
      let ok = used.get(site.fn);
      if (ok === undefined) used.set(site.fn, ok = isUsed(site.fn, ts));
      if (ok) emitted.set(site.family, `${site.path} ${site.fn}()`);
    }
  }
  for (const file of sql) {
    const code = file.text.replace(/--[^\n]*/g, "");
    for (const match of code.matchAll(/'(comptoir_[a-z0-9_]+)'/g)) {
      if (!emitted.has(match[1])) emitted.set(match[1], file.path);
    }
  }
  return emitted;
}

/** Reads the production modules under `dir` (recursively): no tests, no test support. */
export async function productionModules(dir: string, root: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  const visit = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) await visit(full);
      else if (
        entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts") &&
        entry.name !== "test_support.ts"
      ) {
        files.push({ path: full.slice(root.length), text: await Deno.readTextFile(full) });
      }
    }
  };
  await visit(dir);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Reads the SQL migrations of `dir`. */
export async function migrations(dir: string, root: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".sql")) {
      const full = `${dir}/${entry.name}`;
      files.push({ path: full.slice(root.length), text: await Deno.readTextFile(full) });
    }
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
