/**
 * What the rest of the shared library calls to record metrics: rate-limit decisions, circuit
 * breaker states and transitions, authentication, checkouts and orders, database statements,
 * pool use and retries. The shared cache tier and materialized view refreshes are counted by the
 * database itself (metrics.scrape(), metrics.record_view_refresh()). Each hook is synchronous and
 * cheap (a map update in the isolate); the flush to the shared store happens later, off the
 * response path. With `COMPTOIR_METRICS=off` every hook does nothing.
 *
 * Hooks take the callers' own vocabulary where it differs from the contract's and map it here, so
 * the contract's bounded values live in one place (see `RATE_LIMIT_POLICY_LABELS`).
 * @module
 */
import type { AuthEvent } from "../auth/events.ts";
import { BREAKER_STATES } from "./labels.ts";
import { METRICS_ENABLED, metricsPipeline } from "./pipeline.ts";
import type { CounterName, HistogramName } from "./families.ts";
import type { LabelValues } from "./registry.ts";

/**
 * The contract's `policy` value of each rate-limit policy of `rate_limit/policies.ts`:
 * per-address policies are `anonymous`, per-user ones `authenticated`, order creation `checkout`.
 * A function with policies of its own names their value when it subscribes (api/protection.ts);
 * a policy known nowhere is dropped (and warned about) rather than exported under an unbounded
 * name.
 */
export const RATE_LIMIT_POLICY_LABELS: Readonly<Record<string, string>> = {
  anonymous: "anonymous",
  authenticated: "authenticated",
  checkout: "checkout",
  export: "export",
  public_read: "anonymous",
  user_read: "authenticated",
  user_write: "authenticated",
  api_key: "authenticated",
};

/**
 * The contract's `dependency` of each breaker whose name differs from it: the database's breaker
 * is called `database` (db/client.ts) and exported as `postgres`.
 */
export const BREAKER_DEPENDENCY_LABELS: Readonly<Record<string, string>> = {
  database: "postgres",
};

function dependencyOf(breaker: string): string {
  return BREAKER_DEPENDENCY_LABELS[breaker] ?? breaker;
}

function inc(name: CounterName, labels: LabelValues = {}, by = 1): void {
  if (!METRICS_ENABLED) return;
  const { registry, flusher } = metricsPipeline();
  registry.inc(name, labels, by);
  flusher.notify();
}

function observe(name: HistogramName, labels: LabelValues, value: number): void {
  if (!METRICS_ENABLED) return;
  const { registry, flusher } = metricsPipeline();
  registry.observe(name, labels, value);
  flusher.notify();
}

/** A rate-limit decision, as published by `RateLimiter.subscribe()`. */
export interface RateLimitDecisionLike {
  /** Policy name (`public_read`, `checkout`, ... or a contract value). */
  policy: string;
  /** `allowed`, `limited`, `fail_open` (others are not in the contract and are dropped). */
  outcome: string;
  /** Adaptive factor in force, when the policy is adaptive. */
  factor?: number;
}

/**
 * Counts one rate-limit check and records the policy's adaptive factor.
 *
 * @example
 * ```ts
 * limiter.subscribe(recordRateLimitDecision);
 * ```
 */
export function recordRateLimitDecision(decision: RateLimitDecisionLike): void {
  if (!METRICS_ENABLED) return;
  const policy = RATE_LIMIT_POLICY_LABELS[decision.policy] ?? decision.policy;
  inc("comptoir_rate_limit_decisions_total", { policy, result: decision.outcome });
  if (decision.factor !== undefined) {
    const { registry, flusher } = metricsPipeline();
    registry.setLatest("comptoir_rate_limit_adaptive_factor", { policy }, decision.factor);
    flusher.notify();
  }
}

/**
 * Records the current state of a dependency's breaker: the `state` series of
 * `comptoir_circuit_breaker_state` become 1 for `state` and 0 for the two others.
 *
 * @example
 * ```ts
 * recordCircuitBreakerState("redis", breaker.status);
 * ```
 */
export function recordCircuitBreakerState(dependency: string, state: string): void {
  if (!METRICS_ENABLED) return;
  if (!(BREAKER_STATES as readonly string[]).includes(state)) return;
  const { registry, flusher } = metricsPipeline();
  dependency = dependencyOf(dependency);
  for (const s of BREAKER_STATES) {
    registry.setLatest(
      "comptoir_circuit_breaker_state",
      { dependency, state: s },
      s === state ? 1 : 0,
    );
  }
  flusher.notify();
}

/** A breaker state change, as published by `CircuitBreaker.subscribe()`. */
export interface BreakerTransitionLike {
  /** Dependency name. */
  breaker: string;
  from: string;
  to: string;
  /** `shared` changes were made by another isolate, which counted them: only `local` counts. */
  source?: "local" | "shared";
}

/**
 * Counts a breaker transition made by this isolate and records the new state.
 *
 * @example
 * ```ts
 * breakers.subscribe(recordCircuitBreakerTransition);
 * ```
 */
export function recordCircuitBreakerTransition(event: BreakerTransitionLike): void {
  if (!METRICS_ENABLED) return;
  if (event.source !== "shared") {
    inc("comptoir_circuit_breaker_transitions_total", {
      dependency: dependencyOf(event.breaker),
      from: event.from,
      to: event.to,
    });
  }
  recordCircuitBreakerState(event.breaker, event.to);
}

/**
 * Counts an authentication event (auth/events.ts); `createFunctionApp` subscribes it.
 *
 * @example
 * ```ts
 * subscribeAuthEvents(recordAuthEvent);
 * ```
 */
export function recordAuthEvent(event: AuthEvent): void {
  if (event.kind === "attempt") recordAuthAttempt(event.method);
  else recordAuthFailure(event.method, event.reason);
}

/** Counts a request whose credentials were evaluated (`jwt`, `api_key`, `metrics_token`). */
export function recordAuthAttempt(method: string): void {
  inc("comptoir_auth_attempts_total", { method });
}

/**
 * Counts a request refused by authentication (401 reasons) or authorization
 * (`insufficient_role`, 403).
 *
 * @example
 * ```ts
 * recordAuthFailure("jwt", "expired");
 * ```
 */
export function recordAuthFailure(method: string, reason: string): void {
  inc("comptoir_auth_failures_total", { method, reason });
}

/** Counts a checkout that passed authentication and rate limiting and was attempted. */
export function recordCheckoutAttempt(): void {
  inc("comptoir_checkout_attempts_total");
}

/**
 * Counts a checkout that did not create an order, by cause (`validation`, `out_of_stock`,
 * `price_changed`, `payment_declined`, `payment_error`, `conflict`, `internal`).
 */
export function recordCheckoutFailure(reason: string): void {
  inc("comptoir_checkout_failures_total", { reason });
}

/**
 * Counts an order committed to the database and observes its total in minor units.
 *
 * @example
 * ```ts
 * recordOrderCreated({ currency: "EUR", totalMinorUnits: 1250 });
 * ```
 */
export function recordOrderCreated(order: { currency: string; totalMinorUnits: number }): void {
  inc("comptoir_orders_created_total");
  observe("comptoir_order_value_minor_units", { currency: order.currency }, order.totalMinorUnits);
}

/**
 * Observes one database statement (waiting for a connection included), and counts it as an error
 * by SQLSTATE class when it failed.
 *
 * @example
 * ```ts
 * recordDbQuery("select", 0.004);
 * recordDbQuery("insert", 0.012, "23");
 * ```
 */
export function recordDbQuery(operation: string, seconds: number, sqlstateClass?: string): void {
  observe("comptoir_db_query_duration_seconds", { operation }, seconds);
  if (sqlstateClass !== undefined) {
    inc("comptoir_db_errors_total", { sqlstate_class: sqlstateClass });
  }
}

/**
 * Sets this isolate's pool gauges: connections in use, the configured maximum, and statements or
 * transactions waiting for a connection.
 *
 * @example
 * ```ts
 * recordDbPool(3, 3, 2);
 * ```
 */
export function recordDbPool(inUse: number, max: number, waiting = 0): void {
  if (!METRICS_ENABLED) return;
  const { registry, flusher } = metricsPipeline();
  registry.setGauge("comptoir_db_pool_connections_in_use", {}, inUse);
  registry.setGauge("comptoir_db_pool_connections_max", {}, max);
  registry.setGauge("comptoir_db_pool_connections_waiting", {}, waiting);
  flusher.notify();
}

/**
 * Counts the `retries` made for one call to `dependency` (`postgres`, `redis`), by how the call
 * ended: `recovered` when a retry succeeded, `failed` when it still failed.
 *
 * @example
 * ```ts
 * recordRetries("postgres", 1, "recovered");
 * ```
 */
export function recordRetries(
  dependency: string,
  retries: number,
  outcome: "recovered" | "failed",
): void {
  if (retries > 0) inc("comptoir_retries_total", { dependency, outcome }, retries);
}

/** One export page whose body ended, as the `export` function reports it. */
export interface ExportPageRecord {
  /** Resource exported (`orders`, `order_lines`, ...). */
  resource: string;
  /** `csv`, `json` or `jsonl`. */
  format: string;
  /** Rows of the page; counted only when the body was read to the end. */
  rows: number;
  /** Bytes sent, after compression. */
  bytes: number;
  /** From the request to the end of the body. */
  seconds: number;
  outcome: "complete" | "cancelled" | "failed";
}

/**
 * Records an export page: rows (complete pages only), bytes, duration and how it ended.
 *
 * @example
 * ```ts
 * recordExportPage({ resource: "orders", format: "csv", rows: 10, bytes: 800, seconds: 0.1,
 *   outcome: "complete" });
 * ```
 */
export function recordExportPage(page: ExportPageRecord): void {
  if (!METRICS_ENABLED) return;
  const labels = { resource: page.resource, format: page.format };
  if (page.outcome === "complete") inc("comptoir_export_rows_total", labels, page.rows);
  inc("comptoir_export_bytes_total", labels, page.bytes);
  observe("comptoir_export_duration_seconds", labels, page.seconds);
  inc("comptoir_export_pages_total", { ...labels, outcome: page.outcome });
}

/** What one alert evaluation did, as the alerts function reports it. */
export interface AlertEvaluationLike {
  result: "evaluated" | "already_evaluated" | "failed";
  seconds: number;
  /** Series by state after it (absent when nothing was evaluated). */
  states?: { pending: number; firing: number; nodata: number };
  notifications?: readonly { status: string }[];
  suppressed?: Readonly<Record<string, number>>;
}

/**
 * Records one alert evaluation: its result and duration, the series by state, the notifications
 * published and the alerts suppressed by reason.
 *
 * @example
 * ```ts
 * recordAlertEvaluation({ result: "evaluated", seconds: 0.08, states: { pending: 0, firing: 1, nodata: 0 } });
 * ```
 */
export function recordAlertEvaluation(evaluation: AlertEvaluationLike): void {
  if (!METRICS_ENABLED) return;
  inc("comptoir_alert_evaluations_total", { result: evaluation.result });
  observe("comptoir_alert_evaluation_duration_seconds", {}, evaluation.seconds);
  const { registry, flusher } = metricsPipeline();
  if (evaluation.states) {
    for (const [state, count] of Object.entries(evaluation.states)) {
      registry.setLatest("comptoir_alerts", { state }, count);
    }
  }
  for (const n of evaluation.notifications ?? []) {
    inc("comptoir_alert_notifications_total", { status: n.status });
  }
  recordAlertsSuppressed(evaluation.suppressed ?? {});
  flusher.notify();
}

/**
 * Counts alerts that were not notified on their own, by reason (`dedup`, `cooldown`, `group`,
 * `inhibition`, `silence`).
 *
 * @example
 * ```ts
 * recordAlertsSuppressed({ dedup: 2 });
 * ```
 */
export function recordAlertsSuppressed(byReason: Readonly<Record<string, number>>): void {
  for (const [reason, count] of Object.entries(byReason)) {
    if (count > 0) inc("comptoir_alert_notifications_suppressed_total", { reason }, count);
  }
}

/**
 * Records how one delivery attempt of the notifications outbox ended: `delivered` (with the time
 * since the message was queued), `failed` (to be retried) or `dead` (given up on).
 *
 * @example
 * ```ts
 * recordNotificationOutcome("slack", "delivered", 1.8);
 * ```
 */
export function recordNotificationOutcome(
  channel: string,
  outcome: "delivered" | "failed" | "dead",
  latencySeconds?: number,
): void {
  switch (outcome) {
    case "delivered":
      inc("comptoir_notifications_delivered_total", { channel });
      if (latencySeconds !== undefined) {
        observe("comptoir_notifications_delivery_latency_seconds", { channel }, latencySeconds);
      }
      return;
    case "failed":
      inc("comptoir_notifications_failed_total", { channel });
      return;
    case "dead":
      inc("comptoir_notifications_dead_total", { channel });
  }
}
