/**
 * Label values of the metrics contract (docs/reference/metrics.md, "Labels") and how a raw value is
 * turned into one of them. A value outside a listed set becomes the set's catch-all (`OTHER`,
 * `unmatched`, `unknown`, `other`); a set without a catch-all refuses it, and the registry drops
 * the sample rather than pass an unbounded value through.
 * @module
 */

/** How the values of one label are bounded. */
export interface LabelRule {
  /** Values accepted as they are (after `normalize`). */
  readonly values?: ReadonlySet<string>;
  /** Accepts values matching this pattern instead of a listed set (bounded elsewhere). */
  readonly pattern?: RegExp;
  /** Value that replaces anything not accepted; without it such a sample is dropped. */
  readonly catchAll?: string;
  /** Rewrites the raw value before it is checked (case, prefix...). */
  readonly normalize?: (raw: string) => string;
}

const set = (...values: string[]): ReadonlySet<string> => new Set(values);

/** `function`: the edge function that served the request. */
export const FUNCTION_LABEL: LabelRule = {
  values: set("api", "export", "metrics", "alerts", "health", "notifications"),
};

/**
 * `route`: the route template registered in Hono (base path included), bounded by the route table;
 * `unmatched` when no route matched.
 */
export const ROUTE_LABEL: LabelRule = {
  pattern: /^\/[^\s"\\]{0,199}$/,
  catchAll: "unmatched",
};

/** `method`: upper-case HTTP method; anything else is `OTHER`. */
export const METHOD_LABEL: LabelRule = {
  values: set("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
  catchAll: "OTHER",
  normalize: (raw) => raw.toUpperCase(),
};

/** `status_class`: `1xx` … `5xx`. */
export const STATUS_CLASS_LABEL: LabelRule = {
  values: set("1xx", "2xx", "3xx", "4xx", "5xx"),
};

/**
 * Currencies the shop accepts: `COMPTOIR_CURRENCIES` (comma-separated ISO 4217 codes), read once,
 * else EUR, USD, GBP and CHF.
 */
export const SHOP_CURRENCIES: readonly string[] = (
  readEnv("COMPTOIR_CURRENCIES") ?? "EUR,USD,GBP,CHF"
).split(",").map((code) => code.trim().toUpperCase()).filter((code) => /^[A-Z]{3}$/.test(code));

/** `currency`: an accepted ISO 4217 code, upper case; else `OTHER`. */
export const CURRENCY_LABEL: LabelRule = {
  values: new Set(SHOP_CURRENCIES),
  catchAll: "OTHER",
  normalize: (raw) => raw.trim().toUpperCase(),
};

/** Checkout failure causes. */
export const CHECKOUT_FAILURE_REASONS = [
  "validation",
  "out_of_stock",
  "price_changed",
  "payment_declined",
  "payment_error",
  "conflict",
  "internal",
] as const;

/** `reason` of `comptoir_checkout_failures_total`. */
export const CHECKOUT_REASON_LABEL: LabelRule = { values: new Set(CHECKOUT_FAILURE_REASONS) };

/** `operation`: leading keyword of a statement; `other` takes the rest. */
export const OPERATION_LABEL: LabelRule = {
  values: set("select", "insert", "update", "delete", "rpc", "transaction", "other"),
  catchAll: "other",
  normalize: (raw) => raw.toLowerCase(),
};

/** `sqlstate_class`: first two characters of a SQLSTATE from the listed classes; else `unknown`. */
export const SQLSTATE_CLASS_LABEL: LabelRule = {
  values: set(
    ..."00 01 02 03 08 09 0A 0B 0F 0L 0P 0Z 20 21 22 23 24 25 26 27 28 2B 2D 2F 34 38 39 3B 3D 3F 40 42 44 53 54 55 57 58 72 F0 HV P0 XX"
      .split(" "),
  ),
  catchAll: "unknown",
  normalize: (raw) => raw.toUpperCase(),
};

/** `cache`: one value per named cache. */
export const CACHE_LABEL: LabelRule = {
  values: set("products", "product_search", "categories", "inventory", "dashboard"),
};

/** `tier`: the isolate's LRU (`memory`) or Redis / the Postgres cache table (`shared`). */
export const TIER_LABEL: LabelRule = { values: set("memory", "shared") };

/** `reason` of cache evictions. */
export const EVICTION_REASON_LABEL: LabelRule = {
  values: set("expired", "capacity", "invalidated"),
};

/** `method` of authentication. */
export const AUTH_METHOD_LABEL: LabelRule = {
  values: set("jwt", "api_key", "metrics_token", "alertmanager_token"),
};

/** `reason` of authentication failures. */
export const AUTH_FAILURE_REASON_LABEL: LabelRule = {
  values: set(
    "missing_credentials",
    "malformed",
    "invalid_signature",
    "expired",
    "not_yet_valid",
    "invalid_claims",
    "unknown_key",
    "insufficient_role",
  ),
};

/** `policy`: one value per rate-limit policy family of the contract. */
export const POLICY_LABEL: LabelRule = {
  values: set("anonymous", "authenticated", "checkout", "export"),
};

/** `result` of a rate-limit check. */
export const RESULT_LABEL: LabelRule = { values: set("allowed", "limited", "fail_open") };

/** `dependency`: one value per breaker-protected dependency. */
export const DEPENDENCY_LABEL: LabelRule = {
  values: set("postgres", "redis", "resend", "slack", "pagerduty", "webhook", "prometheus"),
};

/** `state`: alert states counted by `comptoir_alerts`. */
export const ALERT_STATE_LABEL: LabelRule = { values: set("pending", "firing", "nodata") };

/** `status`: what an alert notification says. */
export const ALERT_STATUS_LABEL: LabelRule = { values: set("firing", "resolved") };

/** `result`: how an alert evaluation ended. */
export const ALERT_EVALUATION_RESULT_LABEL: LabelRule = {
  values: set("evaluated", "already_evaluated", "failed"),
};

/** `reason`: why an alert was not notified on its own. */
export const SUPPRESSION_REASON_LABEL: LabelRule = {
  values: set("dedup", "cooldown", "group", "inhibition", "silence"),
};

/** `channel`: a notifications outbox channel. */
export const CHANNEL_LABEL: LabelRule = { values: set("slack", "email", "webhook", "pagerduty") };

/** `outcome` of `comptoir_retries_total`: the call succeeded on a retry, or still failed. */
export const RETRY_OUTCOME_LABEL: LabelRule = { values: set("recovered", "failed") };

/** Breaker states, in the order the state gauge renders them. */
export const BREAKER_STATES = ["closed", "open", "half_open"] as const;

/** `state`, `from`, `to`: a breaker state. */
export const BREAKER_STATE_LABEL: LabelRule = { values: new Set(BREAKER_STATES) };

/** `view`: `<schema>.<name>` of a materialized view (bounded by the migrations). */
export const VIEW_LABEL: LabelRule = { pattern: /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/ };

/** `cron_job`: a pg_cron job name (bounded by the migrations). */
export const CRON_JOB_LABEL: LabelRule = { pattern: /^[A-Za-z0-9_.:-]{1,64}$/ };

/** Free text of `comptoir_build_info` (version, commit, Deno version), printable and short. */
export const BUILD_LABEL: LabelRule = { pattern: /^[\x21-\x7e]{1,64}$/, catchAll: "unknown" };

/** `resource`: what an export reads (the `export` function's resources). */
export const EXPORT_RESOURCE_LABEL: LabelRule = {
  values: set(
    "orders",
    "order_lines",
    "products",
    "inventory",
    "customers",
    "sales_daily",
    "audit",
  ),
};

/** `format`: the format an export is written in. */
export const EXPORT_FORMAT_LABEL: LabelRule = { values: set("csv", "json", "jsonl") };

/** `outcome` of an export page: read to the end, cancelled by the client, or failed. */
export const EXPORT_OUTCOME_LABEL: LabelRule = {
  values: set("complete", "cancelled", "failed"),
};

/** `le`: never set by callers; written by the registry from the family's buckets. */
export const LE_LABEL = "le";

/**
 * Maps `raw` to an accepted value of `rule`: itself, its catch-all, or `undefined` when the set has
 * no catch-all.
 *
 * @example
 * ```ts
 * boundLabel(METHOD_LABEL, "get"); // "GET"
 * boundLabel(METHOD_LABEL, "PROPFIND"); // "OTHER"
 * boundLabel(FUNCTION_LABEL, "nope"); // undefined
 * ```
 */
export function boundLabel(rule: LabelRule, raw: string): string | undefined {
  const value = rule.normalize ? rule.normalize(raw) : raw;
  if (rule.values?.has(value) || rule.pattern?.test(value)) return value;
  return rule.catchAll;
}

/**
 * The status class label of an HTTP status code.
 *
 * @example
 * ```ts
 * statusClass(404); // "4xx"
 * ```
 */
export function statusClass(status: number): string {
  if (status >= 100 && status < 600) return `${Math.floor(status / 100)}xx`;
  return "5xx";
}

const CONNECTION_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
]);

/**
 * The `sqlstate_class` of a database error: the SQLSTATE's first two characters; connection
 * failures are `08`, client-side statement timeouts `57`, anything else `unknown`.
 *
 * @example
 * ```ts
 * sqlstateClass({ code: "23505" }); // "23"
 * sqlstateClass({ code: "ECONNREFUSED" }); // "08"
 * ```
 */
export function sqlstateClass(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (/^[0-9A-Z]{5}$/.test(code)) return boundLabel(SQLSTATE_CLASS_LABEL, code.slice(0, 2))!;
    if (CONNECTION_ERRORS.has(code)) return "08";
    if (code === "TIMEOUT" || code === "STATEMENT_TIMEOUT") return "57";
  }
  return "unknown";
}

/**
 * The `operation` of a SQL statement: its leading keyword; `with …` takes the first
 * data-modifying keyword it contains, else `select`.
 *
 * @example
 * ```ts
 * sqlOperation("with x as (update t set a = 1 returning *) select * from x"); // "update"
 * ```
 */
export function sqlOperation(statement: string): string {
  const text = statement.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, " ").trimStart().toLowerCase();
  const first = /^[a-z]+/.exec(text)?.[0] ?? "";
  if (first === "with") return /\b(insert|update|delete)\b/.exec(text)?.[1] ?? "select";
  if (first === "begin" || first === "commit" || first === "rollback") return "transaction";
  if (first === "call") return "rpc";
  return boundLabel(OPERATION_LABEL, first)!;
}

/**
 * Escapes a label value for the text exposition formats (backslash, double quote, line feed).
 *
 * @example
 * ```ts
 * escapeLabelValue('a"b'); // 'a\\"b'
 * ```
 */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    : value;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    // Without --allow-env the defaults apply.
    return undefined;
  }
}
