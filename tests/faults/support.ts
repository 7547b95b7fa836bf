/**
 * Assertions shared by the fault tests: what a user can rely on after any database fault, checked
 * on the report of scripts/lib/fault_scenarios.ts.
 * @module
 */
import assert from "node:assert/strict";
import {
  type FaultReport,
  type FaultScenarioOptions,
  runFaultScenario,
} from "../../scripts/lib/fault_scenarios.ts";
import { testCluster } from "../protection/support.ts";

/**
 * Runs a scenario with ten clients on the test cluster, prints its figures and checks
 * {@linkcode assertNothingBroken}; returns the report for the scenario's own checks.
 *
 * @example
 * ```ts
 * const report = await faultScenario({ kind: "terminate", rounds: 3 });
 * ```
 */
export async function faultScenario(
  options: Omit<FaultScenarioOptions, "cluster">,
): Promise<FaultReport> {
  const report = await runFaultScenario({ clients: 10, ...options, cluster: testCluster() });
  printReport(report);
  assertNothingBroken(report);
  return report;
}

/**
 * The process served throughout and afterwards, every failed answer was a 503 problem+json with
 * Retry-After, every key has exactly one order, and orders, lines and reserved stock agree.
 */
export function assertNothingBroken(report: FaultReport): void {
  const summary = JSON.stringify({
    ...report,
    attempts: report.attempts.length,
    badAnswers: report.badAnswers.slice(0, 5),
  });
  assert.deepEqual(report.crashOutput, [], `the process printed a crash:\n${summary}`);
  assert.ok(report.servingAfterwards, `the process does not serve any more:\n${summary}`);
  assert.equal(report.byStatus["0"] ?? 0, 0, `requests got no answer at all:\n${summary}`);
  assert.deepEqual(
    report.badAnswers,
    [],
    `answers other than success or a 503 problem:\n${summary}`,
  );
  assert.deepEqual(report.badRetries, [], `retries with the same key:\n${summary}`);
  assert.deepEqual(report.lost, [], `keys without their order:\n${summary}`);
  assert.deepEqual(report.duplicated, [], `keys with more than one order:\n${summary}`);
  assert.deepEqual(report.invariantViolations, [], `orders and stock disagree:\n${summary}`);
  assert.ok((report.byStatus["201"] ?? 0) > 0, summary);
}

/** Prints the figures of a scenario (the test log is where a reader sees them). */
export function printReport(report: FaultReport): void {
  console.log(JSON.stringify({
    kind: report.kind,
    injections: report.injections,
    mid_transaction: report.midTransaction,
    answers: report.byStatus,
    fast_refusals: report.fastRefusals,
    fail_closed: report.failClosed,
    replayed_after_outage: report.replayed,
    placed_on_retry: report.placedOnRetry,
    recovery_ms: report.recoveryMs,
  }));
}
