/**
 * Debian packages the local stack needs: checked with dpkg, installed with apt-get when allowed
 * (root, and the caller asked for it), otherwise reported in one message that names them.
 * @module
 */
import { isRoot, run, StackError } from "./command.ts";

/** Packages for the local Postgres cluster and its tests. */
export const POSTGRES_PACKAGES = [
  "postgresql-15",
  "postgresql-15-cron",
  "postgresql-15-pgtap",
  // pg_prove: only a Recommends of postgresql-15-pgtap, which --no-install-recommends skips.
  "libtap-parser-sourcehandler-pgtap-perl",
  "postgresql-15-plpgsql-check",
];

/** Packages for the whole test suite. */
export const TEST_PACKAGES = [
  ...POSTGRES_PACKAGES,
  "redis-server",
  "prometheus",
  "prometheus-alertmanager",
];

/** Names among `packages` that dpkg does not report as installed. */
export async function missingPackages(packages: string[]): Promise<string[]> {
  const { stdout } = await run(
    "dpkg-query",
    ["-W", "-f=${Package} ${db:Status-Status}\n", ...packages],
    { check: false },
  );
  const installed = new Set(
    stdout.split("\n").filter((line) => line.endsWith(" installed")).map((line) =>
      line.split(" ")[0]
    ),
  );
  return packages.filter((name) => !installed.has(name));
}

/** Options of {@linkcode ensurePackages}. */
export interface EnsurePackagesOptions {
  /** Install missing packages with apt-get when running as root. */
  install?: boolean;
}

/**
 * Makes sure `packages` are installed, or throws one StackError naming the missing ones.
 *
 * @example
 * ```ts
 * await ensurePackages(POSTGRES_PACKAGES, { install: true });
 * ```
 */
export async function ensurePackages(
  packages: string[],
  { install = false }: EnsurePackagesOptions = {},
): Promise<void> {
  const missing = await missingPackages(packages);
  if (missing.length === 0) return;
  if (!install || !isRoot()) {
    throw new StackError(
      `missing Debian packages: ${missing.join(" ")} — install them with: ` +
        `sudo apt-get install -y ${missing.join(" ")}`,
    );
  }
  console.log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-qq"], { env });
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
  // The Debian packages start their own services on install; the stack runs its own on loopback.
  for (const service of ["redis-server", "prometheus", "prometheus-alertmanager", "postgresql"]) {
    await run("service", [service, "stop"], { check: false }).catch(() => undefined);
  }
}
