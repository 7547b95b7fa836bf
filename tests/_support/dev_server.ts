/**
 * The dev server as a child process (scripts/lib/dev_server_process.ts) and the test cluster's URL.
 * @module
 */
export {
  type DevServer,
  type DevServerOptions,
  startDevServer,
} from "../../scripts/lib/dev_server_process.ts";

/** The test database URL from `deno task test`; throws when the suite runs outside it. */
export function testDatabaseUrl(): string {
  const url = Deno.env.get("TEST_DATABASE_URL");
  if (!url) throw new Error("TEST_DATABASE_URL is not set: run the suite with `deno task test`");
  return url;
}
