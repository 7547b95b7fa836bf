import assert from "node:assert/strict";
import {
  generateDataset,
  outageStorm,
  replayRule,
  replayStorm,
  score,
  WEEK_MINUTES,
} from "./alert_replay.ts";

const MIN = 60_000;

Deno.test("generateDataset() is deterministic and labels every incident kind", () => {
  const a = generateDataset({ weeks: 6, levels: [300] });
  const b = generateDataset({ weeks: 6, levels: [300] });
  assert.deepEqual(a.series[0].values.slice(0, 5000), b.series[0].values.slice(0, 5000));
  assert.equal(a.series[0].values.length, 6 * WEEK_MINUTES);
  const kinds = new Set(a.incidents.filter((i) => i.start >= a.scoredFrom).map((i) => i.kind));
  assert.deepEqual([...kinds].sort(), [
    "drift",
    "drop",
    "level_shift",
    "missing",
    "outage",
    "spike",
  ]);
  const missing = a.incidents.find((i) => i.kind === "missing")!;
  assert.equal(a.series[0].values[missing.start], null);
  const c = generateDataset({ weeks: 6, levels: [300], seed: 1 });
  assert.notDeepEqual(a.series[0].values.slice(0, 100), c.series[0].values.slice(0, 100));
});

Deno.test("score() counts a detected outage and a false alarm", () => {
  const data = generateDataset({ weeks: 5, levels: [300], incidentsPerSeries: 6 });
  const rule = {
    detector: { kind: "static" as const, direction: "below" as const, threshold: 1 },
    forMs: 0,
    keepFiringForMs: 0,
    noDataForMs: 5 * MIN,
    historyWindow: 0,
  };
  const result = score(data, replayRule(data, rule));
  assert.equal(result.recallByKind.outage.detected, result.recallByKind.outage.incidents);
  assert.equal(result.recallByKind.missing.detected, result.recallByKind.missing.incidents);
  assert.equal(result.recallByKind.spike.detected, 0);
  const outage = data.incidents.find((i) => i.kind === "outage" && i.start >= data.scoredFrom)!;
  const falseAlarm = {
    series: 0,
    kind: "threshold" as const,
    firedAt: outage.start - 600,
    resolvedAt: outage.start - 590,
  };
  const withFalse = score(data, [...replayRule(data, rule), falseAlarm]);
  assert.equal(withFalse.falsePositives, result.falsePositives + 1);
  assert.equal(score(data, [falseAlarm], [{ start: 0, end: data.minutes }]).muted, 1);
});

Deno.test("replayStorm() sends fewer notifications with each control", () => {
  const route = {
    groupBy: ["alertname"],
    groupWaitMs: 30_000,
    groupIntervalMs: 300_000,
    repeatIntervalMs: 3_600_000,
  };
  const storm = outageStorm({ shops: 2 });
  const none = replayStorm(
    storm,
    { dedup: false, cooldown: false, grouping: false, inhibition: false },
    route,
    [],
  );
  const all = replayStorm(
    storm,
    { dedup: true, cooldown: true, grouping: true, inhibition: false },
    route,
    [],
  );
  assert.ok(all.notifications > 0);
  assert.ok(
    all.notifications < none.notifications / 10,
    `${all.notifications} vs ${none.notifications}`,
  );
  assert.ok((all.suppressed.dedup ?? 0) > 0);
});

Deno.test("replayRule() feeds a seasonal rule its recent evaluations: a holiday sets its level", () => {
  const data = generateDataset({ weeks: 6, levels: [900], incidentsPerSeries: 6 });
  const holiday = data.specialDays.find((d) => d.start >= data.scoredFrom && d.factor < 1)!;
  const detector = {
    kind: "seasonal" as const,
    direction: "both" as const,
    threshold: 3.5,
    weeks: 4,
    neighbours: 2,
    minSamples: 8,
    minTraffic: 5,
    minRelativeChange: 0.25,
    minDelta: 0,
  };
  const rule = (extra: Record<string, unknown>) => ({
    detector: { ...detector, ...extra },
    forMs: MIN,
    keepFiringForMs: 5 * MIN,
    noDataForMs: 5 * MIN,
    historyWindow: 0,
  });
  const onHoliday = (episodes: ReturnType<typeof replayRule>) =>
    episodes.filter((e) => e.firedAt >= holiday.start && e.firedAt < holiday.end).length;
  const plain = replayRule(data, rule({}));
  const levelled = replayRule(data, rule({ levelWindowMs: 180 * MIN, levelSkipMs: 30 * MIN }));
  assert.ok(onHoliday(plain) >= 5, `${onHoliday(plain)} episodes on the holiday without a level`);
  assert.ok(
    onHoliday(levelled) * 3 <= onHoliday(plain),
    `${onHoliday(levelled)} with a level, ${onHoliday(plain)} without`,
  );
  // What is left fires in the holiday's first hours, before its level is known.
  const late = levelled.filter((e) =>
    e.firedAt >= holiday.start + 6 * 60 && e.firedAt < holiday.end
  );
  assert.deepEqual(late.map((e) => (e.firedAt - holiday.start) / 60), []);
  const outages = score(data, levelled).recallByKind.outage;
  assert.equal(outages.detected, outages.incidents);
});
