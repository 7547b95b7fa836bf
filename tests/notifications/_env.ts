/**
 * Import first: metrics stay in this process's registry (no timed flush to the store while a test
 * reads them), as the metrics pipeline reads its settings when it loads.
 * @module
 */
Deno.env.set("COMPTOIR_METRICS_FLUSH_MS", "3600000");
