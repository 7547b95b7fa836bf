/**
 * The health function served bare by Deno.serve, as the edge runtime would run it, without the
 * local gateway in front: the baseline of the gateway-overhead benchmark. Usage:
 * `COMPTOIR_DB_URL=… deno run -A scripts/bench/serve_bare.ts PORT`.
 * @module
 */
import app from "../../supabase/functions/health/app.ts";

const port = Number(Deno.args[0] ?? 54400);
Deno.serve(
  { hostname: "127.0.0.1", port, onListen: () => console.log(`bare health on ${port}`) },
  app.fetch,
);
