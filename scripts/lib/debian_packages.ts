/**
 * Debian packages the local stack needs, derived from the program manifest in `executables.ts`:
 * checked with dpkg, installed with apt-get when allowed (root, and the caller asked for it),
 * otherwise reported in one message that names them.
 * @module
 */
import { isRoot, run, StackError } from "./command.ts";
import {
  EXECUTABLES,
  installableDebianPackages,
  POSTGRES_EXTENSION_PACKAGES,
} from "./executables.ts";

/** Packages for the local Postgres cluster and its tests (pgTAP's pg_prove included). */
export const POSTGRES_PACKAGES: readonly string[] = [
  ...installableDebianPackages(EXECUTABLES.filter((e) => e.part === "postgres")),
  ...POSTGRES_EXTENSION_PACKAGES,
];

/**
 * Packages for everything the project spawns (test suite, local stack, benchmarks): every Debian
 * package of the manifest in `executables.ts` and the Postgres extensions.
 */
export const TEST_PACKAGES: readonly string[] = [
  ...new Set([...POSTGRES_PACKAGES, ...installableDebianPackages(EXECUTABLES)]),
];

/** Names among `packages` that dpkg does not report as installed. */
export async function missingPackages(packages: readonly string[]): Promise<string[]> {
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
  packages: readonly string[],
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
