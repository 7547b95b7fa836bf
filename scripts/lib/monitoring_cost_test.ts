import assert from "node:assert/strict";
import {
  DEFAULT_TEAM,
  estimateMonitoringCost,
  PRICES,
  priceValues,
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
  const [self, grafana, newRelic, datadog] = estimateMonitoringCost(team);
  // 1.728e9 samples × 150 B = 259.2 GB, counted as 259; 100 free.
  near(newRelic.monthlyUsd, (259 - 100) * PRICES.newRelicPerGb.value);
  near(datadog.monthlyUsd, 15 + (10_000 - 100) * 0.05);
  // 1.728e9 samples × 2 B = 3.456 GB for 30 days.
  near(self.monthlyUsd, 20 + 3.456 * 0.1 + 4 * 60);
  // 15 s scrapes: 4 DPM per series, 1 included, so 40,000 series billed; 10,000 included.
  near(grafana.monthlyUsd, 19 + 30 * 6.5);
});

Deno.test("estimateMonitoringCost() bills only past the free allowances", () => {
  const team = {
    ...DEFAULT_TEAM,
    series: 150,
    scrapeIntervalSeconds: 60,
    datadogHosts: 2,
    newRelicFullUsers: 3,
    grafanaUsers: 3,
  };
  const [, grafana, newRelic, datadog] = estimateMonitoringCost(
    team,
    priceValues({ newRelicFullUserUsd: 10 }),
  );
  near(newRelic.monthlyUsd, 2 * 10); // ingest under 100 GB; two users past the free one
  near(datadog.monthlyUsd, 2 * 15); // 150 series within 2 × 100 included
  near(grafana.monthlyUsd, 19); // 150 series at 1 DPM and 3 users: the platform fee only
});

Deno.test("priceValues() replaces the named inputs and refuses unknown or negative ones", () => {
  const prices = priceValues({ newRelicPerGb: 0.4, grafanaCloudIncludedSeries: 0 });
  assert.equal(prices.newRelicPerGb, 0.4);
  assert.equal(prices.grafanaCloudIncludedSeries, 0);
  assert.equal(prices.datadogHostAnnual, PRICES.datadogHostAnnual.value);
  const [, grafana] = estimateMonitoringCost({ ...DEFAULT_TEAM, series: 1000 }, prices);
  near(grafana.monthlyUsd, 19 + 4 * 6.5);
  assert.throws(() => priceValues({ datadogPerHost: 1 }), /Unknown price input datadogPerHost/);
  assert.throws(() => priceValues({ newRelicPerGb: -1 }), RangeError);
  assert.throws(() => priceValues({ newRelicPerGb: Number.NaN }), RangeError);
});

Deno.test("estimateMonitoringCost() refuses negative or zero-interval inputs", () => {
  assert.throws(() => estimateMonitoringCost({ ...DEFAULT_TEAM, series: -1 }), RangeError);
  assert.throws(
    () => estimateMonitoringCost({ ...DEFAULT_TEAM, scrapeIntervalSeconds: 0 }),
    RangeError,
  );
});

Deno.test("every price input names its source, the day it was read and how far it is confirmed", () => {
  for (const [name, price] of Object.entries(PRICES)) {
    assert.match(price.source, /^https:\/\//, name);
    assert.match(price.readOn, /^\d{4}-\d{2}-\d{2}$/, name);
    assert.ok(["vendor", "secondary", "unconfirmed"].includes(price.status), name);
    // An unconfirmed price says why, so the reader knows what to check.
    if (price.status === "unconfirmed") assert.ok("note" in price && price.note, name);
  }
});
