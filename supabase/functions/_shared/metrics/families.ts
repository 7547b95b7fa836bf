/**
 * The metric families of the contract (docs/reference/metrics.md): names, types, help, labels with
 * their bounded values, histogram buckets, and how each is aggregated across isolates. Rules and
 * dashboards use these names literally: change the contract first, then this table.
 * @module
 */
import {
  ALERT_EVALUATION_RESULT_LABEL,
  ALERT_STATE_LABEL,
  ALERT_STATUS_LABEL,
  AUTH_FAILURE_REASON_LABEL,
  AUTH_METHOD_LABEL,
  BREAKER_STATE_LABEL,
  BUILD_LABEL,
  CACHE_LABEL,
  CHANNEL_LABEL,
  CHECKOUT_REASON_LABEL,
  CRON_JOB_LABEL,
  CURRENCY_LABEL,
  DEPENDENCY_LABEL,
  EVICTION_REASON_LABEL,
  EXPORT_FORMAT_LABEL,
  EXPORT_OUTCOME_LABEL,
  EXPORT_RESOURCE_LABEL,
  FUNCTION_LABEL,
  type LabelRule,
  METHOD_LABEL,
  OPERATION_LABEL,
  POLICY_LABEL,
  RESULT_LABEL,
  RETRY_OUTCOME_LABEL,
  ROUTE_LABEL,
  SQLSTATE_CLASS_LABEL,
  STATUS_CLASS_LABEL,
  SUPPRESSION_REASON_LABEL,
  TIER_LABEL,
  VIEW_LABEL,
} from "./labels.ts";

/** Prometheus type of a family. */
export type MetricType = "counter" | "gauge" | "histogram";

/**
 * Where a family's values come from and how isolates combine:
 * - `sum`: counters and histograms, increments added up in the shared store;
 * - `per_isolate`: a gauge each isolate sets, summed over the isolates that flushed in the last 60 s;
 * - `latest`: a gauge whose last value written by any isolate wins;
 * - `scrape`: computed by the `metrics` function while it answers (database, build).
 */
export type Aggregation = "sum" | "per_isolate" | "latest" | "scrape";

/** One metric family. */
export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Label names in exposition order, with their rules. */
  readonly labels: readonly (readonly [name: string, rule: LabelRule])[];
  readonly aggregation: Aggregation;
  /** Histogram upper bounds, ascending, `+Inf` implied. */
  readonly buckets?: readonly number[];
  /** Rendered at 0 before any value when it has no labels. */
  readonly alwaysPresent?: boolean;
}

const HTTP_LABELS = [
  ["function", FUNCTION_LABEL],
  ["route", ROUTE_LABEL],
  ["method", METHOD_LABEL],
  ["status_class", STATUS_CLASS_LABEL],
] as const;

/** Buckets of `comptoir_http_request_duration_seconds`. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets of `comptoir_db_query_duration_seconds`. */
export const DB_DURATION_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
];
/** Buckets of `comptoir_materialized_view_refresh_duration_seconds`. */
export const VIEW_REFRESH_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Buckets of `comptoir_order_value_minor_units`. */
export const ORDER_VALUE_BUCKETS = [
  500,
  1000,
  2500,
  5000,
  10000,
  25000,
  50000,
  100000,
  250000,
  500000,
];

/** Buckets of `comptoir_export_duration_seconds`. */
export const EXPORT_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const EXPORT_LABELS = [
  ["resource", EXPORT_RESOURCE_LABEL],
  ["format", EXPORT_FORMAT_LABEL],
] as const;
/** Buckets of `comptoir_alert_evaluation_duration_seconds`. */
export const ALERT_EVALUATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Buckets of `comptoir_notifications_delivery_latency_seconds` (enqueue to delivered). */
export const NOTIFICATION_LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

const CHANNEL = [["channel", CHANNEL_LABEL]] as const;

/** Every family of the contract, in exposition order. */
export const FAMILIES: readonly MetricFamily[] = [
  {
    name: "comptoir_http_requests_total",
    type: "counter",
    help: "HTTP requests that received a response.",
    labels: HTTP_LABELS,
    aggregation: "sum",
  },
  {
    name: "comptoir_http_request_duration_seconds",
    type: "histogram",
    help: "Time from request to response headers.",
    labels: HTTP_LABELS,
    aggregation: "sum",
    buckets: HTTP_DURATION_BUCKETS,
  },
  {
    name: "comptoir_http_requests_in_flight",
    type: "gauge",
    help: "Requests being handled right now.",
    labels: [["function", FUNCTION_LABEL]],
    aggregation: "per_isolate",
  },
  {
    name: "comptoir_orders_created_total",
    type: "counter",
    help: "Orders committed to the database.",
    labels: [],
    aggregation: "sum",
    alwaysPresent: true,
  },
  {
    name: "comptoir_order_value_minor_units",
    type: "histogram",
    help: "Total of each created order in the currency's minor unit.",
    labels: [["currency", CURRENCY_LABEL]],
    aggregation: "sum",
    buckets: ORDER_VALUE_BUCKETS,
  },
  {
    name: "comptoir_checkout_attempts_total",
    type: "counter",
    help: "Checkout requests that were attempted.",
    labels: [],
    aggregation: "sum",
    alwaysPresent: true,
  },
  {
    name: "comptoir_checkout_failures_total",
    type: "counter",
    help: "Checkout attempts that did not create an order.",
    labels: [["reason", CHECKOUT_REASON_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_low_stock_products",
    type: "gauge",
    help: "Active products at or below their low-stock threshold.",
    labels: [],
    aggregation: "scrape",
    alwaysPresent: true,
  },
  {
    name: "comptoir_db_query_duration_seconds",
    type: "histogram",
    help: "Time of each database statement.",
    labels: [["operation", OPERATION_LABEL]],
    aggregation: "sum",
    buckets: DB_DURATION_BUCKETS,
  },
  {
    name: "comptoir_db_errors_total",
    type: "counter",
    help: "Failed database statements and connection attempts.",
    labels: [["sqlstate_class", SQLSTATE_CLASS_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_db_pool_connections_in_use",
    type: "gauge",
    help: "Pool connections running a statement or reserved.",
    labels: [],
    aggregation: "per_isolate",
    alwaysPresent: true,
  },
  {
    name: "comptoir_db_pool_connections_max",
    type: "gauge",
    help: "Configured pool size.",
    labels: [],
    aggregation: "per_isolate",
    alwaysPresent: true,
  },
  {
    name: "comptoir_db_pool_connections_waiting",
    type: "gauge",
    help: "Statements and transactions waiting for a pool connection.",
    labels: [],
    aggregation: "per_isolate",
    alwaysPresent: true,
  },
  {
    name: "comptoir_db_up",
    type: "gauge",
    help: "Whether the database answered during this scrape.",
    labels: [],
    aggregation: "scrape",
    alwaysPresent: true,
  },
  {
    name: "comptoir_cache_hits_total",
    type: "counter",
    help: "Lookups answered from the cache.",
    labels: [["cache", CACHE_LABEL], ["tier", TIER_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_cache_misses_total",
    type: "counter",
    help: "Lookups that no tier could answer.",
    labels: [["cache", CACHE_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_cache_evictions_total",
    type: "counter",
    help: "Entries removed from a tier before being read again.",
    labels: [["cache", CACHE_LABEL], ["tier", TIER_LABEL], ["reason", EVICTION_REASON_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_cache_entries",
    type: "gauge",
    help: "Entries held.",
    labels: [["cache", CACHE_LABEL], ["tier", TIER_LABEL]],
    aggregation: "per_isolate",
  },
  {
    name: "comptoir_cache_size_bytes",
    type: "gauge",
    help: "Bytes of the serialized values held.",
    labels: [["cache", CACHE_LABEL], ["tier", TIER_LABEL]],
    aggregation: "per_isolate",
  },
  {
    name: "comptoir_auth_attempts_total",
    type: "counter",
    help: "Requests whose credentials were evaluated.",
    labels: [["method", AUTH_METHOD_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_auth_failures_total",
    type: "counter",
    help: "Requests rejected by authentication or authorization.",
    labels: [["method", AUTH_METHOD_LABEL], ["reason", AUTH_FAILURE_REASON_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_rate_limit_decisions_total",
    type: "counter",
    help: "Rate-limit checks by policy and outcome.",
    labels: [["policy", POLICY_LABEL], ["result", RESULT_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_rate_limit_adaptive_factor",
    type: "gauge",
    help: "Multiplier applied to the policy's base limit.",
    labels: [["policy", POLICY_LABEL]],
    aggregation: "latest",
  },
  {
    name: "comptoir_circuit_breaker_state",
    type: "gauge",
    help: "Current breaker state, one series per state.",
    labels: [["dependency", DEPENDENCY_LABEL], ["state", BREAKER_STATE_LABEL]],
    aggregation: "latest",
  },
  {
    name: "comptoir_circuit_breaker_transitions_total",
    type: "counter",
    help: "Breaker state changes.",
    labels: [
      ["dependency", DEPENDENCY_LABEL],
      ["from", BREAKER_STATE_LABEL],
      ["to", BREAKER_STATE_LABEL],
    ],
    aggregation: "sum",
  },
  {
    name: "comptoir_retries_total",
    type: "counter",
    help: "Retries of calls to a dependency, by how the call ended.",
    labels: [["dependency", DEPENDENCY_LABEL], ["outcome", RETRY_OUTCOME_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_materialized_view_staleness_seconds",
    type: "gauge",
    help: "Seconds since the view's last successful refresh.",
    labels: [["view", VIEW_LABEL]],
    aggregation: "scrape",
  },
  {
    name: "comptoir_materialized_view_refresh_interval_seconds",
    type: "gauge",
    help: "Scheduled refresh interval of the view.",
    labels: [["view", VIEW_LABEL]],
    aggregation: "scrape",
  },
  {
    name: "comptoir_materialized_view_refresh_duration_seconds",
    type: "histogram",
    help: "Duration of each refresh attempt.",
    labels: [["view", VIEW_LABEL]],
    aggregation: "sum",
    buckets: VIEW_REFRESH_BUCKETS,
  },
  {
    name: "comptoir_materialized_view_refresh_failures_total",
    type: "counter",
    help: "Refresh attempts that failed.",
    labels: [["view", VIEW_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_cron_job_runs_total",
    type: "counter",
    help: "Scheduled job runs that finished.",
    labels: [["cron_job", CRON_JOB_LABEL]],
    aggregation: "scrape",
  },
  {
    name: "comptoir_cron_job_failures_total",
    type: "counter",
    help: "Scheduled job runs that failed.",
    labels: [["cron_job", CRON_JOB_LABEL]],
    aggregation: "scrape",
  },
  {
    name: "comptoir_export_rows_total",
    type: "counter",
    help: "Rows sent by export pages read to the end.",
    labels: EXPORT_LABELS,
    aggregation: "sum",
  },
  {
    name: "comptoir_export_bytes_total",
    type: "counter",
    help: "Bytes of export bodies sent, after compression.",
    labels: EXPORT_LABELS,
    aggregation: "sum",
  },
  {
    name: "comptoir_export_duration_seconds",
    type: "histogram",
    help: "Time from an export request to the last byte of its page.",
    labels: EXPORT_LABELS,
    aggregation: "sum",
    buckets: EXPORT_DURATION_BUCKETS,
  },
  {
    name: "comptoir_export_pages_total",
    type: "counter",
    help: "Export pages by how their body ended.",
    labels: [...EXPORT_LABELS, ["outcome", EXPORT_OUTCOME_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_audit_chain_intact",
    type: "gauge",
    help: "Whether the last verification of the audit hash chain found it intact.",
    labels: [],
    aggregation: "latest",
  },
  {
    name: "comptoir_audit_verification_timestamp_seconds",
    type: "gauge",
    help: "When the audit hash chain was last verified (Unix time).",
    labels: [],
    aggregation: "latest",
  },
  {
    name: "comptoir_audit_verified_rows_total",
    type: "counter",
    help: "Audit rows checked by scheduled verifications.",
    labels: [],
    aggregation: "sum",
  },
  {
    name: "comptoir_audit_unsealed_rows",
    type: "gauge",
    help: "Audit rows not yet sealed into the hash chain at the last verification.",
    labels: [],
    aggregation: "latest",
  },
  {
    name: "comptoir_alert_evaluations_total",
    type: "counter",
    help: "Scheduled alert evaluations, by result.",
    labels: [["result", ALERT_EVALUATION_RESULT_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_alert_evaluation_duration_seconds",
    type: "histogram",
    help: "Duration of one alert evaluation (every rule, catch-up included).",
    labels: [],
    aggregation: "sum",
    buckets: ALERT_EVALUATION_BUCKETS,
  },
  {
    name: "comptoir_alerts",
    type: "gauge",
    help: "Series of the alert rules by state, after the last evaluation.",
    labels: [["state", ALERT_STATE_LABEL]],
    aggregation: "latest",
  },
  {
    name: "comptoir_alert_notifications_total",
    type: "counter",
    help: "Alert notifications published to the outbox (one per group and instant).",
    labels: [["status", ALERT_STATUS_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_alert_notifications_suppressed_total",
    type: "counter",
    help: "Alerts not notified on their own, by reason.",
    labels: [["reason", SUPPRESSION_REASON_LABEL]],
    aggregation: "sum",
  },
  {
    name: "comptoir_notifications_enqueued_total",
    type: "counter",
    help: "Notifications queued in the outbox.",
    labels: CHANNEL,
    aggregation: "scrape",
  },
  {
    name: "comptoir_notifications_delivered_total",
    type: "counter",
    help: "Notifications the receiver accepted.",
    labels: CHANNEL,
    aggregation: "sum",
  },
  {
    name: "comptoir_notifications_failed_total",
    type: "counter",
    help: "Delivery attempts that failed and will be retried.",
    labels: CHANNEL,
    aggregation: "sum",
  },
  {
    name: "comptoir_notifications_dead_total",
    type: "counter",
    help: "Notifications given up on (permanent error, too many attempts or too old).",
    labels: CHANNEL,
    aggregation: "sum",
  },
  {
    name: "comptoir_notifications_delivery_latency_seconds",
    type: "histogram",
    help: "Time from enqueue to delivery.",
    labels: CHANNEL,
    aggregation: "sum",
    buckets: NOTIFICATION_LATENCY_BUCKETS,
  },
  {
    name: "comptoir_notifications_backlog",
    type: "gauge",
    help: "Notifications not delivered yet (pending, sending or failed).",
    labels: CHANNEL,
    aggregation: "scrape",
  },
  {
    name: "comptoir_notifications_oldest_pending_age_seconds",
    type: "gauge",
    help: "Age of the oldest undelivered notification; 0 when none.",
    labels: CHANNEL,
    aggregation: "scrape",
  },
  {
    name: "comptoir_notifications_dead_letters",
    type: "gauge",
    help: "Dead notifications waiting for a retry or retention.",
    labels: CHANNEL,
    aggregation: "scrape",
  },
  {
    name: "comptoir_build_info",
    type: "gauge",
    help: "Build of the metrics function serving the scrape.",
    labels: [["version", BUILD_LABEL], ["commit", BUILD_LABEL], ["deno_version", BUILD_LABEL]],
    aggregation: "scrape",
  },
];

const BY_NAME = new Map(FAMILIES.map((family) => [family.name, family]));

/**
 * The family called `name`; throws `RangeError` for a name outside the contract.
 *
 * @example
 * ```ts
 * family("comptoir_db_up").type; // "gauge"
 * ```
 */
export function family(name: string): MetricFamily {
  const found = BY_NAME.get(name);
  if (!found) throw new RangeError(`Unknown metric family ${name}`);
  return found;
}

/** Names of the counter families (for typed calls). */
export type CounterName =
  | "comptoir_http_requests_total"
  | "comptoir_orders_created_total"
  | "comptoir_checkout_attempts_total"
  | "comptoir_checkout_failures_total"
  | "comptoir_db_errors_total"
  | "comptoir_cache_hits_total"
  | "comptoir_cache_misses_total"
  | "comptoir_cache_evictions_total"
  | "comptoir_auth_attempts_total"
  | "comptoir_auth_failures_total"
  | "comptoir_rate_limit_decisions_total"
  | "comptoir_circuit_breaker_transitions_total"
  | "comptoir_retries_total"
  | "comptoir_materialized_view_refresh_failures_total"
  | "comptoir_export_rows_total"
  | "comptoir_export_bytes_total"
  | "comptoir_export_pages_total"
  | "comptoir_alert_evaluations_total"
  | "comptoir_alert_notifications_total"
  | "comptoir_alert_notifications_suppressed_total"
  | "comptoir_notifications_delivered_total"
  | "comptoir_notifications_failed_total"
  | "comptoir_notifications_dead_total";

/** Names of the histogram families. */
export type HistogramName =
  | "comptoir_http_request_duration_seconds"
  | "comptoir_order_value_minor_units"
  | "comptoir_db_query_duration_seconds"
  | "comptoir_materialized_view_refresh_duration_seconds"
  | "comptoir_export_duration_seconds"
  | "comptoir_alert_evaluation_duration_seconds"
  | "comptoir_notifications_delivery_latency_seconds";

/** Names of the gauges set by isolates (per isolate or latest value). */
export type IsolateGaugeName =
  | "comptoir_http_requests_in_flight"
  | "comptoir_db_pool_connections_in_use"
  | "comptoir_db_pool_connections_max"
  | "comptoir_db_pool_connections_waiting"
  | "comptoir_cache_entries"
  | "comptoir_cache_size_bytes";

/** Names of the gauges whose latest written value wins. */
export type LatestGaugeName =
  | "comptoir_rate_limit_adaptive_factor"
  | "comptoir_circuit_breaker_state"
  | "comptoir_alerts";
