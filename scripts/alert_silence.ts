/**
 * `deno task alerts:silence`: silences of the alerts function from the command line, through its
 * API (the same checks as any client: matcher syntax, window, comment).
 *
 *   deno task alerts:silence add --matchers '{alertname="OrderDrop"}' --duration 2h --comment "deploy"
 *   deno task alerts:silence add --matchers 'team="business"' --starts-at 2026-12-24T00:00:00Z \
 *     --ends-at 2026-12-26T00:00:00Z --comment "Christmas: known low traffic"
 *   deno task alerts:silence list [--state active|pending|expired|all]
 *   deno task alerts:silence expire <id>
 *
 * The API is at --url (default http://127.0.0.1:54321, the dev stack) with the key in --key or
 * SUPABASE_SERVICE_ROLE_KEY (an admin's access token works too). Prints JSON; exit 1 with the
 * problem's detail on a refusal.
 * @module
 */
import { parseArgs } from "node:util";
import { createClient, FunctionsHttpError } from "@supabase/supabase-js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string", default: "http://127.0.0.1:54321" },
    key: { type: "string" },
    matchers: { type: "string" },
    duration: { type: "string" },
    "starts-at": { type: "string" },
    "ends-at": { type: "string" },
    comment: { type: "string" },
    "created-by": { type: "string" },
    state: { type: "string", default: "active" },
  },
});

const key = values.key ?? Deno.env.get("SUPABASE_SERVICE_ROLE_KEY");
if (!key) fail("give --key or set SUPABASE_SERVICE_ROLE_KEY");
const client = createClient(values.url!, key!, {
  auth: { persistSession: false, autoRefreshToken: false },
});

const [command, id] = positionals;
let path: string;
let method: "GET" | "POST" | "DELETE";
let body: Record<string, unknown> | undefined;
switch (command) {
  case "add":
    if (!values.matchers || !values.comment) fail("add needs --matchers and --comment");
    path = "alerts/silences";
    method = "POST";
    body = {
      matchers: values.matchers,
      comment: values.comment,
      ...(values.duration ? { duration: values.duration } : {}),
      ...(values["starts-at"] ? { starts_at: values["starts-at"] } : {}),
      ...(values["ends-at"] ? { ends_at: values["ends-at"] } : {}),
      ...(values["created-by"] ? { created_by: values["created-by"] } : {}),
    };
    break;
  case "list":
    path = `alerts/silences?state=${encodeURIComponent(values.state!)}`;
    method = "GET";
    break;
  case "expire":
    if (!id) fail("expire needs the silence id");
    path = `alerts/silences/${encodeURIComponent(id)}`;
    method = "DELETE";
    break;
  default:
    fail("usage: alerts:silence add|list|expire …");
}

const { data, error } = await client.functions.invoke(path!, { method: method!, body });
if (error) {
  if (error instanceof FunctionsHttpError) {
    const res = error.context as Response;
    const problem = await res.json().catch(() => ({}));
    const fields = (problem.errors ?? []).map((e: { pointer: string; detail: string }) =>
      `${e.pointer}: ${e.detail}`
    );
    fail([`${res.status} ${problem.title ?? ""}: ${problem.detail ?? ""}`, ...fields].join("\n  "));
  }
  fail(error.message);
}
console.log(JSON.stringify(data, null, 2));

function fail(message: string): never {
  console.error(`alerts:silence: ${message}`);
  Deno.exit(1);
}
