/**
 * The isolate's one metrics pipeline: a {@linkcode MetricsRegistry} drained by a
 * {@linkcode MetricsFlusher} into the Postgres store, created on first use. Settings are read once,
 * when this module loads:
 *
 * | variable                   | default | meaning                                              |
 * | -------------------------- | ------- | ---------------------------------------------------- |
 * | `COMPTOIR_METRICS`         | `on`    | `off` installs no HTTP middleware and makes every hook a no-op |
 * | `COMPTOIR_METRICS_FLUSH_MS`| `5000`  | longest time a change waits in the isolate           |
 * @module
 */
import { getUnobservedDb } from "../db/client.ts";
import { MetricsFlusher } from "./flusher.ts";
import { MetricsRegistry } from "./registry.ts";
import { PostgresMetricsStore } from "./store.ts";

/** Whether metrics are recorded in this isolate (`COMPTOIR_METRICS` is not `off`). */
export const METRICS_ENABLED: boolean = readEnv("COMPTOIR_METRICS")?.toLowerCase() !== "off";

/** Longest time a change waits in the isolate before a flush, in ms. */
export const FLUSH_INTERVAL_MS: number = positiveInt(readEnv("COMPTOIR_METRICS_FLUSH_MS"), 5_000);

/** The registry, flusher and store of this isolate. */
export interface MetricsPipeline {
  registry: MetricsRegistry;
  flusher: MetricsFlusher;
  store: PostgresMetricsStore;
}

let pipeline: MetricsPipeline | undefined;

/**
 * This isolate's pipeline, created on first use.
 *
 * @example
 * ```ts
 * const { registry, flusher } = metricsPipeline();
 * registry.inc("comptoir_checkout_attempts_total");
 * flusher.notify();
 * ```
 */
export function metricsPipeline(): MetricsPipeline {
  if (!pipeline) {
    const registry = new MetricsRegistry();
    const store = new PostgresMetricsStore(() => getUnobservedDb());
    const flusher = new MetricsFlusher({
      registry,
      store: () => store,
      intervalMs: FLUSH_INTERVAL_MS,
    });
    pipeline = { registry, flusher, store };
  }
  return pipeline;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function positiveInt(raw: string | undefined, fallback: number): number {
  const value = Number(raw);
  return raw !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}
