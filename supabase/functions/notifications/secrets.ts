/**
 * Secrets of destinations, read from the environment by name at send time. The database and the
 * configuration hold only the names; a value is never logged nor written to an error.
 * @module
 */
import { SECRET_ENV_PATTERN } from "./config.ts";

/** A destination's secret is not set (or its name is not one a destination may read). */
export class MissingSecretError extends Error {
  constructor(readonly envName: string) {
    super(`secret ${envName} is not set`);
    this.name = "MissingSecretError";
  }
}

/**
 * The value of the environment variable `envName`, which must start with `COMPTOIR_NOTIFY_`.
 *
 * @example
 * ```ts
 * const url = readSecret("COMPTOIR_NOTIFY_SLACK_OPS_URL");
 * ```
 */
export function readSecret(envName: unknown): string {
  const name = typeof envName === "string" ? envName : "";
  if (!SECRET_ENV_PATTERN.test(name)) {
    throw new MissingSecretError(name || "(unnamed)");
  }
  const value = Deno.env.get(name)?.trim();
  if (!value) throw new MissingSecretError(name);
  return value;
}
