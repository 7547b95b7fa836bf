/**
 * Every program that the test runner, the local stack or the benchmarks spawn, with the package
 * that provides it: the one source of truth for what a fresh machine must install. The runner's
 * Debian install list is derived from it (`debian_packages.ts`), the runner checks that each
 * program is present before it starts anything, and `tests/stack/executables_test.ts` proves on the
 * real machine that each program comes from the package named here and that the source spawns no
 * program missing from this list.
 *
 * It exists because a package list kept by hand went stale: `pg_prove` lives in
 * `libtap-parser-sourcehandler-pgtap-perl`, only a Recommends of `postgresql-15-pgtap`, which
 * `apt-get install --no-install-recommends` skips, and the suite then died with
 * `Failed to spawn 'pg_prove': entity not found`.
 *
 * This module imports nothing, so that `command.ts` can consult it when a spawn fails.
 * @module
 */

/** Where Debian puts the PostgreSQL 15 server programs (PG_BIN moves it). */
export const PG_BIN: string = Deno.env.get("PG_BIN") ?? "/usr/lib/postgresql/15/bin";

/** Which part of the project a program serves. */
export type ExecutablePart =
  | "postgres"
  | "redis"
  | "monitoring"
  | "bench"
  | "system"
  | "toolchain";

/** Where a program comes from. */
export type ExecutableProvider =
  /** A Debian package that the runner installs (as root) when dpkg does not report it. */
  | { kind: "debian"; package: string }
  /**
   * A Debian package that is part of every Debian system (Essential, or priority required): the
   * runner cannot install it and never needs to.
   */
  | { kind: "debian-base"; package: string }
  /** An npm package at an exact version: from package.json's devDependencies, or fetched by npx. */
  | { kind: "npm"; package: string; version: string; via: "devDependencies" | "npx" }
  /** Part of the one thing the README asks for: Node.js 20 with npm. */
  | { kind: "node" };

/** One program that the project spawns. */
export interface Executable {
  /** The name it is spawned by (the file name of `path` when there is one). */
  name: string;
  /** Absolute path when it is not looked up on PATH. */
  path?: string;
  part: ExecutablePart;
  provider: ExecutableProvider;
  /**
   * The program that starts it, when the project never spawns it by name itself (pg_ctl starts
   * postgres, npx runs the Supabase CLI, runuser runs `test`).
   */
  startedBy?: string;
}

const debian = (name: string) => ({ kind: "debian", package: name }) as const;
const base = (name: string) => ({ kind: "debian-base", package: name }) as const;
const pg = (name: string): Pick<Executable, "name" | "path"> => ({
  name,
  path: `${PG_BIN}/${name}`,
});

/** The Supabase CLI release used to apply and lint the migrations. */
export const SUPABASE_CLI = { package: "supabase", version: "2.117.0" } as const;

/** The Deno release pinned in package.json (`node_modules/.bin/deno`). */
export const DENO = { package: "deno", version: "2.9.6" } as const;

/** Every program the project spawns. */
export const EXECUTABLES: readonly Executable[] = [
  { ...pg("initdb"), part: "postgres", provider: debian("postgresql-15") },
  { ...pg("pg_ctl"), part: "postgres", provider: debian("postgresql-15") },
  { ...pg("postgres"), part: "postgres", provider: debian("postgresql-15"), startedBy: "pg_ctl" },
  { ...pg("pgbench"), part: "bench", provider: debian("postgresql-15") },
  // A client on the dev stack's printed database URL (tests/embedded/pglite_clients_test.ts).
  { ...pg("psql"), part: "postgres", provider: debian("postgresql-client-15") },
  // Only a Recommends of postgresql-15-pgtap, which --no-install-recommends skips.
  {
    name: "pg_prove",
    part: "postgres",
    provider: debian("libtap-parser-sourcehandler-pgtap-perl"),
  },
  { name: "redis-server", part: "redis", provider: debian("redis-server") },
  { name: "prometheus", part: "monitoring", provider: debian("prometheus") },
  { name: "promtool", part: "monitoring", provider: debian("prometheus") },
  {
    name: "prometheus-alertmanager",
    part: "monitoring",
    provider: debian("prometheus-alertmanager"),
  },
  { name: "amtool", part: "monitoring", provider: debian("prometheus-alertmanager") },
  { name: "wrk", part: "bench", provider: debian("wrk") },
  // bench:export: curl is the client that reads gzip bodies without decoding them (psql, above,
  // gives the \copy ceiling).
  { name: "curl", part: "bench", provider: debian("curl") },
  { name: "runuser", part: "system", provider: base("util-linux") },
  { name: "chown", part: "system", provider: base("coreutils") },
  { name: "test", part: "system", provider: base("coreutils"), startedBy: "runuser" },
  { name: "dpkg-query", part: "system", provider: base("dpkg") },
  { name: "apt-get", part: "system", provider: base("apt") },
  { name: "service", part: "system", provider: base("init-system-helpers") },
  { name: "npx", part: "toolchain", provider: { kind: "node" } },
  // The quick start's `npm run dev` (tests/monitoring_local/quick_start_test.ts).
  { name: "npm", part: "toolchain", provider: { kind: "node" } },
  {
    name: "supabase",
    part: "toolchain",
    provider: { kind: "npm", ...SUPABASE_CLI, via: "npx" },
    startedBy: "npx",
  },
  {
    name: "deno",
    path: Deno.execPath(),
    part: "toolchain",
    provider: { kind: "npm", ...DENO, via: "devDependencies" },
  },
];

/**
 * Debian packages with no program of their own that the Postgres cluster loads: the extensions.
 */
export const POSTGRES_EXTENSION_PACKAGES: readonly string[] = [
  "postgresql-15-cron",
  "postgresql-15-pgtap",
  "postgresql-15-plpgsql-check",
];

/**
 * The manifest entry of a program, by the name or path it is spawned with.
 *
 * @example
 * ```ts
 * executable("pg_prove")?.provider; // { kind: "debian", package: "libtap-parser-sourcehandler-pgtap-perl" }
 * ```
 */
export function executable(nameOrPath: string): Executable | undefined {
  const name = nameOrPath.slice(nameOrPath.lastIndexOf("/") + 1);
  return EXECUTABLES.find((e) => e.path === nameOrPath) ?? EXECUTABLES.find((e) => e.name === name);
}

/**
 * The Debian packages the runner installs for `executables` (base packages left out), in order,
 * without repeats.
 *
 * @example
 * ```ts
 * installableDebianPackages(EXECUTABLES.filter((e) => e.part === "redis")); // ["redis-server"]
 * ```
 */
export function installableDebianPackages(executables: readonly Executable[]): string[] {
  const names = executables.flatMap((e) =>
    e.provider.kind === "debian" ? [e.provider.package] : []
  );
  return [...new Set(names)];
}

/** Options of {@linkcode resolveExecutable}. */
export interface ResolveOptions {
  /** The search path; the process's PATH by default. */
  path?: string;
}

/**
 * The absolute path a program runs from on this machine, or `undefined` when it is not installed:
 * its own path when it has one, otherwise the first executable file of that name on PATH. An npm
 * package run through npx (the Supabase CLI) is fetched at run time, so it resolves to npx.
 *
 * @example
 * ```ts
 * resolveExecutable(executable("promtool")!); // "/usr/bin/promtool"
 * ```
 */
export function resolveExecutable(
  exe: Executable,
  { path = Deno.env.get("PATH") ?? "" }: ResolveOptions = {},
): string | undefined {
  if (exe.path) return isExecutableFile(exe.path) ? exe.path : undefined;
  const name = exe.provider.kind === "npm" && exe.provider.via === "npx" ? "npx" : exe.name;
  for (const dir of path.split(":")) {
    if (dir === "") continue;
    const candidate = `${dir.replace(/\/$/, "")}/${name}`;
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    const info = Deno.statSync(file);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * The programs among `executables` that do not resolve on this machine.
 *
 * @example
 * ```ts
 * const missing = missingExecutables(EXECUTABLES);
 * if (missing.length > 0) console.error(describeMissing(missing));
 * ```
 */
export function missingExecutables(
  executables: readonly Executable[],
  options: ResolveOptions = {},
): Executable[] {
  return executables.filter((exe) => resolveExecutable(exe, options) === undefined);
}

/** How to install what provides a program, in a few words. */
export function providerHint(provider: ExecutableProvider): string {
  switch (provider.kind) {
    case "debian":
    case "debian-base":
      return `Debian package ${provider.package}`;
    case "npm":
      return provider.via === "npx"
        ? `npm package ${provider.package}@${provider.version}, run through npx (Node.js 20 with npm)`
        : `npm package ${provider.package}@${provider.version}: run npm ci`;
    case "node":
      return "Node.js 20 with npm";
  }
}

/**
 * One message that names each missing program and what provides it, ending with the apt-get
 * command that installs the Debian packages among them.
 *
 * @example
 * ```ts
 * describeMissing([executable("pg_prove")!]);
 * // "missing programs: pg_prove (Debian package libtap-parser-sourcehandler-pgtap-perl) — install
 * //  them with: sudo apt-get install -y libtap-parser-sourcehandler-pgtap-perl"
 * ```
 */
export function describeMissing(missing: readonly Executable[]): string {
  const each = missing.map((exe) => `${exe.path ?? exe.name} (${providerHint(exe.provider)})`);
  const packages = [
    ...new Set(
      missing.flatMap((exe) =>
        exe.provider.kind === "debian" || exe.provider.kind === "debian-base"
          ? [exe.provider.package]
          : []
      ),
    ),
  ];
  const install = packages.length > 0
    ? ` — install them with: sudo apt-get install -y ${packages.join(" ")}`
    : "";
  return `missing programs: ${each.join(", ")}${install}`;
}
