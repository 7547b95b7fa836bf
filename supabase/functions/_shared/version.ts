/** Version of the running comptoir build: `COMPTOIR_VERSION` when the deploy sets it. */
export const VERSION: string = Deno.env.get("COMPTOIR_VERSION") ?? "0.1.0";

/** When this isolate started, for uptime. */
export const STARTED_AT: number = Date.now();
