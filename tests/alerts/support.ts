/**
 * Shared set-up of the alerting tests: a connection to the test database, a table the test rules
 * read their signal from, rule configurations built from YAML-shaped documents, and a reset of
 * the alerting schema between tests.
 * @module
 */
import postgres from "postgres";
import { testDatabaseUrl } from "../_support/dev_server.ts";
import { parseRuleConfig, type RuleConfig } from "../../supabase/functions/alerts/rules.ts";

/** A superuser connection to the test database, configured like the functions' (no prepare). */
export function connect(): postgres.Sql {
  return postgres(testDatabaseUrl(), { prepare: false, max: 4, onnotice: () => {} });
}

/**
 * Creates the signal table (series, at, value) and empties it, the alerting schema and the
 * outbox's alert messages (their ids repeat from test to test: same group, same instant).
 */
export async function resetAlerting(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    create schema if not exists alerting_test;
    create table if not exists alerting_test.signal (
      series text not null, at timestamptz not null, value double precision,
      primary key (series, at));
    truncate alerting_test.signal;
    truncate alerting.series, alerting.alerts, alerting.history, alerting.samples, alerting.groups,
      alerting.silences, alerting.evaluations, alerting.rule_status, alerting.notifications;
    delete from notify.messages where event like 'alert.%';
  `);
}

/** Writes signal values: `value` for each series at each instant (ms). */
export async function writeSignal(
  sql: postgres.Sql,
  series: string,
  at: number,
  value: number,
): Promise<void> {
  await sql`
    insert into alerting_test.signal (series, at, value) values (${series}, ${new Date(
    at,
  )}, ${value})
    on conflict (series, at) do update set value = excluded.value`;
}

/** The SQL of a signal over the test table: one series per `series` row at the instant. */
export const TEST_SIGNAL =
  "select series, value from alerting_test.signal where at = $1::timestamptz";

/** A rule document with defaults a test overrides. */
export function rule(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    name: "TestDrop",
    kind: "static",
    signal: { sql: TEST_SIGNAL },
    direction: "below",
    threshold: 10,
    labels: { severity: "critical", team: "business" },
    annotations: {
      summary: "Value {{ $value }} on {{ $labels.series }}",
      description: "A test rule",
      runbook_url: "https://example.org/runbook",
    },
    ...overrides,
  };
}

/** A configuration with `rules` and a route that notifies at the first evaluation. */
export function config(
  rules: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): RuleConfig {
  return parseRuleConfig({
    route: {
      group_by: ["alertname"],
      group_wait: "0",
      group_interval: "5m",
      repeat_interval: "4h",
    },
    rules,
    ...extra,
  });
}

/** 2026-03-02T10:00:00Z, a minute boundary. */
export const T0 = Date.UTC(2026, 2, 2, 10, 0, 0);
/** One minute. */
export const MIN = 60_000;
