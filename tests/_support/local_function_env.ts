/**
 * Import first in a test that imports a function's app in-process: the test process is the local
 * stack (no proxy in front of it), which `COMPTOIR_TRUSTED_PROXY=0` says, as `deno task dev` does.
 * Without it the api refuses to start (per-address limits could not tell clients apart).
 * @module
 */
if (!Deno.env.get("COMPTOIR_TRUSTED_PROXY")) Deno.env.set("COMPTOIR_TRUSTED_PROXY", "0");
