/**
 * The documentation only names commands that exist and links files that exist: every
 * `deno task <name>` and `npm run <name>` in README.md and docs/ is a task of deno.json or a script
 * of package.json, and every relative Markdown link resolves to a file or folder of the checkout.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** README.md and every Markdown file under docs/. */
async function markdownFiles(): Promise<URL[]> {
  const files = [new URL("README.md", ROOT)];
  const visit = async (dir: URL) => {
    for await (const entry of Deno.readDir(dir)) {
      const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
      if (entry.isDirectory) await visit(url);
      else if (entry.name.endsWith(".md")) files.push(url);
    }
  };
  await visit(new URL("docs/", ROOT));
  return files;
}

const relative = (url: URL) => url.pathname.slice(ROOT.pathname.length);

Deno.test("every deno task and npm run the docs name exists", async () => {
  const tasks = new Set(
    Object.keys(JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).tasks),
  );
  const scripts = new Set(
    Object.keys(JSON.parse(await Deno.readTextFile(new URL("package.json", ROOT))).scripts),
  );
  const missing: string[] = [];
  let seen = 0;
  for (const file of await markdownFiles()) {
    const text = await Deno.readTextFile(file);
    for (const match of text.matchAll(/\bdeno task ([a-z][\w:-]*)/g)) {
      seen++;
      if (!tasks.has(match[1])) missing.push(`${relative(file)}: deno task ${match[1]}`);
    }
    for (const match of text.matchAll(/\bnpm run ([a-z][\w:-]*)/g)) {
      seen++;
      if (!scripts.has(match[1])) missing.push(`${relative(file)}: npm run ${match[1]}`);
    }
    // The README's task table lists them as `npx deno task x` / `` / `y` `` alternatives.
    for (
      const match of text.matchAll(
        /deno task [a-z][\w:-]*`(?: \[[^\]]*\])?((?: \/ `[a-z][\w:-]*`)+)/g,
      )
    ) {
      for (const alt of match[1].matchAll(/`([a-z][\w:-]*)`/g)) {
        seen++;
        if (!tasks.has(alt[1])) missing.push(`${relative(file)}: deno task ${alt[1]}`);
      }
    }
  }
  assert.ok(seen > 20, `the scan found only ${seen} commands`);
  assert.deepEqual(missing, []);
});

Deno.test("every relative link of the docs resolves", async () => {
  const broken: string[] = [];
  let seen = 0;
  for (const file of await markdownFiles()) {
    const text = await Deno.readTextFile(file);
    // Inline links and images; code spans and fenced blocks are left out.
    const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
      seen++;
      const path = decodeURIComponent(target.split("#")[0]);
      try {
        await Deno.stat(new URL(path, file));
      } catch {
        broken.push(`${relative(file)}: ${target}`);
      }
    }
  }
  assert.ok(seen > 5, `the scan found only ${seen} relative links`);
  assert.deepEqual(broken, []);
});
