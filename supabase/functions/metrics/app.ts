/**
 * The `metrics` function: `GET /metrics` renders the aggregate of every isolate's metrics and the
 * database's scrape-time gauges for Prometheus (text format 0.0.4, or OpenMetrics 1.0 when the
 * `Accept` header asks for it). The caller must send `Authorization: Bearer <token>`, the token
 * being the `COMPTOIR_METRICS_TOKEN` secret; anything else gets 401 problem+json. The function is
 * deployed with `verify_jwt = false` because that token is not a JWT.
 * @module
 */
import { createFunctionApp } from "../_shared/http/create_app.ts";
import { ProblemError, problems } from "../_shared/http/problem.ts";
import { getDb } from "../_shared/db/client.ts";
import {
  EXPOSITION_CONTENT_TYPES,
  negotiateExposition,
  renderExposition,
} from "../_shared/metrics/exposition.ts";
import { recordAuthAttempt, recordAuthFailure } from "../_shared/metrics/hooks.ts";
import { metricsPipeline } from "../_shared/metrics/pipeline.ts";
import { collectScrape } from "./collect.ts";
import { checkBearerToken } from "../_shared/auth/bearer_token.ts";

const app = createFunctionApp("metrics");

app.get("/", async (c) => {
  recordAuthAttempt("metrics_token");
  const refusal = await checkBearerToken(
    c.req.header("authorization"),
    Deno.env.get("COMPTOIR_METRICS_TOKEN"),
    { token: "metrics token", secretName: "COMPTOIR_METRICS_TOKEN" },
  );
  if (refusal) {
    recordAuthFailure("metrics_token", refusal.reason);
    throw new ProblemError(problems.unauthorized(refusal.detail), {
      headers: { "www-authenticate": 'Bearer realm="metrics"' },
    });
  }
  const { registry, flusher, store } = metricsPipeline();
  const { samples } = await collectScrape({ sql: getDb, store, flusher, registry });
  const format = negotiateExposition(c.req.header("accept"));
  return c.body(renderExposition(samples, format), 200, {
    "content-type": EXPOSITION_CONTENT_TYPES[format],
    "cache-control": "no-store",
  });
});

export default app;
