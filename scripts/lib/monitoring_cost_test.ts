import assert from "node:assert/strict";
import {
  DEFAULT_TEAM,
  estimateMonitoringCost,
  PRICES,
  samplesPerMonth,
} from "./monitoring_cost.ts";

const near = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${actual} != ${expected}`);

Deno.test("estimateMonitoringCost() prices each option from the inputs", () => {
  const team = {
    ...DEFAULT_TEAM,
    series: 10_000,
    scrapeIntervalSeconds: 15,
    ingestBytesPerSample: 150,
  };
  assert.equal(samplesPerMonth(team), 10_000 * 172_800);
  const [self, newRelic, datadog] = estimateMonitoringCost(team);
  // 1.728e9 samples × 150 B = 259.2 GB, counted as 259; 100 free.
  near(newRelic.monthlyUsd, (259 - 100) * PRICES.newRelicPerGb.value);
  near(datadog.monthlyUsd, 15 + (10_000 - 100) * 0.05);
  // 1.728e9 samples × 2 B = 3.456 GB for 30 days.
  near(self.monthlyUsd, 20 + 3.456 * 0.1 + 4 * 60);
});

Deno.test("estimateMonitoringCost() bills only past the free allowances", () => {
  const team = {
    ...DEFAULT_TEAM,
    series: 150,
    datadogHosts: 2,
    newRelicFullUsers: 3,
    newRelicUserUsd: 10,
  };
  const [, newRelic, datadog] = estimateMonitoringCost(team);
  near(newRelic.monthlyUsd, 2 * 10); // ingest under 100 GB; two users past the free one
  near(datadog.monthlyUsd, 2 * 15); // 150 series within 2 × 100 included
});

Deno.test("estimateMonitoringCost() refuses negative or zero-interval inputs", () => {
  assert.throws(() => estimateMonitoringCost({ ...DEFAULT_TEAM, series: -1 }), RangeError);
  assert.throws(
    () => estimateMonitoringCost({ ...DEFAULT_TEAM, scrapeIntervalSeconds: 0 }),
    RangeError,
  );
});

Deno.test("every price input names its source and the day it was read", () => {
  for (const [name, price] of Object.entries(PRICES)) {
    assert.match(price.source, /^https:\/\//, name);
    assert.match(price.readOn, /^\d{4}-\d{2}-\d{2}$/, name);
  }
});
