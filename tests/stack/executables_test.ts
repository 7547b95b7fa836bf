/**
 * The program manifest (scripts/lib/executables.ts) against this machine and this source tree: each
 * program comes from the package the manifest names, that package is installed by the project's own
 * files, the source spawns nothing the manifest lacks, and a missing program is reported once,
 * with its package, before the runner starts anything.
 */
import assert from "node:assert/strict";
import { requireExecutables, run, StackError } from "../../scripts/lib/command.ts";
import { TEST_PACKAGES } from "../../scripts/lib/debian_packages.ts";
import {
  describeMissing,
  type Executable,
  executable,
  EXECUTABLES,
  missingExecutables,
  resolveExecutable,
} from "../../scripts/lib/executables.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The Debian packages owning `file` (`dpkg -S`), by dpkg's own file lists (both sides of the /usr merge). */
async function owners(file: string): Promise<string[]> {
  const aliases = new Set([file]);
  const merged = /^\/usr\/(s?bin|lib)\//.exec(file);
  if (merged) aliases.add(file.slice(4));
  else if (/^\/(s?bin|lib)\//.test(file)) aliases.add(`/usr${file}`);
  const found = new Set<string>();
  for (const alias of aliases) {
    const { code, stdout } = await run("dpkg-query", ["-S", alias], { check: false });
    if (code !== 0) continue;
    for (const line of stdout.trim().split("\n")) {
      for (const name of line.slice(0, line.lastIndexOf(": ")).split(", ")) {
        found.add(name.replace(/:[a-z0-9]+$/, ""));
      }
    }
  }
  return [...found];
}

/** The packages `name` depends on directly (alternatives included), from dpkg's status. */
async function depends(name: string): Promise<string[]> {
  const { stdout } = await run("dpkg-query", ["-W", "-f=${Depends} ${Pre-Depends}", name]);
  return stdout.split(/[,|]/).map((dep) => dep.trim().split(/[\s:]/)[0]).filter(Boolean);
}

async function dpkgField(name: string, field: string): Promise<string> {
  const { stdout } = await run("dpkg-query", ["-W", `-f=\${${field}}`, name]);
  return stdout.trim();
}

/** Packages the runner's install brings: the install list and what each of them depends on. */
async function installedByRunner(): Promise<Set<string>> {
  const all = new Set(TEST_PACKAGES);
  for (const name of TEST_PACKAGES) for (const dep of await depends(name)) all.add(dep);
  return all;
}

let installed: Promise<Set<string>> | undefined;

for (const exe of EXECUTABLES) {
  Deno.test(`executables: ${exe.name} resolves and comes from ${exe.provider.kind} package`, async () => {
    const resolved = resolveExecutable(exe);
    assert.ok(resolved, `${exe.name} does not resolve on this machine`);
    const real = await Deno.realPath(resolved);
    const provider = exe.provider;
    switch (provider.kind) {
      case "debian": {
        const owning = [...new Set([...await owners(resolved), ...await owners(real)])];
        assert.ok(
          owning.includes(provider.package),
          `${resolved} (${real}) belongs to ${owning.join(", ") || "no package"}, ` +
            `not ${provider.package}`,
        );
        assert.ok(TEST_PACKAGES.includes(provider.package), `${provider.package} is not installed`);
        // The real file may belong to a dependency (redis-server links to redis-tools' binary):
        // it must come with the install list.
        const runner = await (installed ??= installedByRunner());
        for (const name of await owners(real)) {
          assert.ok(
            runner.has(name),
            `${real} belongs to ${name}, which the runner never installs`,
          );
        }
        break;
      }
      case "debian-base": {
        const owning = [...new Set([...await owners(resolved), ...await owners(real)])];
        assert.ok(owning.includes(provider.package), `${real} belongs to ${owning.join(", ")}`);
        const essential = await dpkgField(provider.package, "Essential");
        const priority = await dpkgField(provider.package, "Priority");
        assert.ok(
          essential === "yes" || priority === "required",
          `${provider.package} is neither Essential nor required (${essential}, ${priority}): ` +
            `it belongs in the install list`,
        );
        break;
      }
      case "npm": {
        if (provider.via === "devDependencies") {
          const pkg = JSON.parse(await Deno.readTextFile(`${ROOT}package.json`));
          assert.equal(pkg.devDependencies?.[provider.package], provider.version);
          assert.match(real, new RegExp(`/node_modules/${provider.package}/`));
          const installedPkg = JSON.parse(
            await Deno.readTextFile(real.replace(/\/[^/]+$/, "/package.json")),
          );
          assert.equal(installedPkg.version, provider.version);
        }
        const { stdout } = provider.via === "npx"
          ? await run(resolved, ["-y", `${provider.package}@${provider.version}`, "--version"])
          : await run(resolved, ["--version"]);
        assert.match(stdout, new RegExp(`\\b${provider.version.replaceAll(".", "\\.")}\\b`));
        break;
      }
      case "node": {
        const { stdout } = await run(resolved, ["--version"]);
        assert.match(stdout.trim(), /^\d+\.\d+\.\d+$/);
        break;
      }
    }
  });
}

/** Program names spawned by the TypeScript under `dirs`, with where each is spawned. */
async function spawnedPrograms(dirs: string[]): Promise<Map<string, string>> {
  const literal = String.raw`["'\x60](?:\$\{[A-Z_]+\}/)?([A-Za-z0-9_.-]+)["'\x60]`;
  const patterns = [
    new RegExp(String.raw`new Deno\.Command\(\s*` + literal, "g"),
    new RegExp(String.raw`\b(?:run|stream|spawn|spawnLogged)\(\s*` + literal, "g"),
    new RegExp(String.raw`\b(?:binary|redisServer)\s*=\s*` + literal, "g"),
    new RegExp(String.raw`"-u",\s*"postgres",\s*"--",\s*` + literal, "g"),
  ];
  const execPath = /(?:new Deno\.Command\(|= )\s*Deno\.execPath\(\)/;
  const found = new Map<string, string>();
  const visit = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory && entry.name !== "node_modules") await visit(path);
      if (!entry.isFile || !entry.name.endsWith(".ts")) continue;
      const source = await Deno.readTextFile(path);
      const where = path.slice(ROOT.length);
      for (const pattern of patterns) {
        for (const match of source.matchAll(pattern)) found.set(match[1], where);
      }
      if (execPath.test(source)) found.set("deno", where);
    }
  };
  for (const dir of dirs) await visit(`${ROOT}${dir}`);
  return found;
}

Deno.test("executables: every program the source spawns is in the manifest, and back", async () => {
  const spawned = await spawnedPrograms(["scripts", "tests", "supabase/functions"]);
  // The scan itself works: it finds programs spawned in each of the ways the source spawns them.
  for (const name of ["pg_prove", "npx", "deno", "initdb", "pg_ctl", "redis-server", "runuser"]) {
    assert.ok(spawned.has(name), `the scan did not find ${name}`);
  }
  for (const name of ["prometheus", "prometheus-alertmanager", "promtool", "amtool", "test"]) {
    assert.ok(spawned.has(name), `the scan did not find ${name}`);
  }
  const unknown = [...spawned].filter(([name]) => !executable(name));
  assert.deepEqual(unknown, [], "spawned programs missing from scripts/lib/executables.ts");
  const stale = EXECUTABLES.filter((e) => !e.startedBy && !spawned.has(e.name)).map((e) => e.name);
  assert.deepEqual(stale, [], "manifest entries that nothing spawns");
  for (const exe of EXECUTABLES.filter((e) => e.startedBy)) {
    assert.ok(
      spawned.has(exe.startedBy!),
      `${exe.name} is started by ${exe.startedBy}, never spawned`,
    );
  }
});

Deno.test("describeMissing() names each missing program and its package in one message", async () => {
  const empty = await Deno.makeTempDir({ prefix: "comptoir-empty-path-" });
  try {
    const missing = missingExecutables(EXECUTABLES, { path: empty });
    const names = missing.map((e) => e.name);
    for (const name of ["pg_prove", "redis-server", "promtool", "amtool", "wrk", "npx"]) {
      assert.ok(names.includes(name), `${name} should be missing with an empty PATH`);
    }
    // Programs with a path of their own do not depend on PATH.
    assert.ok(!names.includes("pg_ctl") && !names.includes("deno"));
    const message = describeMissing(missing);
    assert.equal(message.split("\n").length, 1);
    assert.match(message, /pg_prove \(Debian package libtap-parser-sourcehandler-pgtap-perl\)/);
    assert.match(message, /supabase \(npm package supabase@\d+\.\d+\.\d+, run through npx/);
    assert.match(
      message,
      /sudo apt-get install -y libtap-parser-sourcehandler-pgtap-perl redis-server prometheus /,
    );
    assert.throws(
      () => requireExecutables(EXECUTABLES, { path: empty }),
      (err) => err instanceof StackError && err.message === message,
    );
    requireExecutables(EXECUTABLES);
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test("the runner stops before starting anything when a program is missing", async () => {
  // A PATH holding every program of the manifest but pg_prove and wrk.
  const dir = await Deno.makeTempDir({ prefix: "comptoir-path-" });
  try {
    const keep = (exe: Executable) => !exe.path && !["pg_prove", "wrk"].includes(exe.name);
    for (const exe of EXECUTABLES.filter(keep)) {
      const resolved = resolveExecutable(exe);
      assert.ok(resolved, `${exe.name} does not resolve`);
      await Deno.symlink(resolved, `${dir}/${resolved.slice(resolved.lastIndexOf("/") + 1)}`)
        .catch((err) => {
          if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        });
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}scripts/run_tests.ts`, "--only-deno", "tests/stack/none"],
      cwd: ROOT,
      env: { PATH: dir, COMPTOIR_TEST_PG_PORT: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stdout + stderr);
    assert.equal(
      stderr.trim(),
      "error: missing programs: pg_prove (Debian package libtap-parser-sourcehandler-pgtap-perl), " +
        "wrk (Debian package wrk) — install them with: sudo apt-get install -y " +
        "libtap-parser-sourcehandler-pgtap-perl wrk",
    );
    assert.doesNotMatch(stdout, /test postgres on/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
