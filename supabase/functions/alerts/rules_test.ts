import assert from "node:assert/strict";
import { parse } from "yaml";
import { parseDuration, parseRuleConfig, RuleConfigError } from "./rules.ts";

const SHIPPED = new URL("../../../config/alerting/rules.yaml", import.meta.url);

function shipped(): Record<string, unknown> {
  return parse(Deno.readTextFileSync(SHIPPED)) as Record<string, unknown>;
}

/** The problems `parseRuleConfig()` lists for `doc` (it must throw a RuleConfigError). */
function problemsOf(doc: unknown): string[] {
  try {
    parseRuleConfig(doc);
  } catch (error) {
    if (error instanceof RuleConfigError) return error.problems;
    throw error;
  }
  throw new assert.AssertionError({
    message: "the configuration was accepted",
  });
}

Deno.test("parseDuration() reads Prometheus durations", () => {
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("0"), 0);
  assert.throws(() => parseDuration("5 minutes"), RangeError);
  assert.throws(() => parseDuration("5m3"), RangeError);
});

Deno.test("parseRuleConfig() accepts the shipped rules, every kind among them", () => {
  const config = parseRuleConfig(shipped());
  const kinds = new Set(config.rules.map((r) => r.kind));
  assert.deepEqual([...kinds].sort(), [
    "robust_zscore",
    "seasonal",
    "static",
    "zscore",
  ]);
  const drop = config.rules.find((r) => r.name === "OrderDrop");
  assert.equal(drop?.forMs, 60_000);
  assert.equal(config.route.groupWaitMs, 30_000);
  assert.ok(config.inhibitRules.length > 0);
});

Deno.test("parseRuleConfig() names one clear error per bad rule", () => {
  const doc = shipped();
  const rules = doc.rules as Record<string, unknown>[];
  doc.rules = [
    rules[0],
    { ...rules[0], threshold: "three" },
    { ...rules[4], for: "5 minutes" },
    { ...rules[0], kind: "fourier" },
    { ...rules[0], name: "order_drop" },
    { ...rules[4], surprise: true },
    rules[0],
  ];
  const problems = problemsOf(doc);
  assert.equal(problems.length, 6, problems.join("\n"));
  assert.match(problems[0], /^rules\[1\] \(OrderDrop\): threshold: /);
  assert.match(
    problems[1],
    /^rules\[2\] \(LowStockProducts\): for: invalid duration "5 minutes"/,
  );
  assert.match(problems[2], /^rules\[3\] \(OrderDrop\): kind: /);
  assert.match(
    problems[3],
    /^rules\[4\] \(order_drop\): name: must be an alert name/,
  );
  assert.match(problems[4], /^rules\[5\] \(LowStockProducts\): .*surprise/);
  assert.match(
    problems[5],
    /^rules\[6\] \(OrderDrop\): another rule has the same name/,
  );
});

Deno.test("parseRuleConfig() rejects bad matchers and sections", () => {
  const doc = shipped();
  doc.inhibit_rules = [{
    source_matchers: ['alertname=~"("'],
    target_matchers: ["a=b"],
  }];
  assert.throws(
    () => parseRuleConfig(doc),
    /inhibit_rules\[0\]\.source_matchers: matcher/,
  );
  assert.throws(() => parseRuleConfig({ rules: [] }), /route: /);
  assert.throws(() => parseRuleConfig(null), RuleConfigError);
});

Deno.test("parseRuleConfig() reads the seasonal rules' level, counts and deep-drop options", () => {
  const config = parseRuleConfig(shipped());
  const drop = config.rules.find((r) => r.name === "OrderDrop")!;
  assert.equal(drop.detector.kind, "seasonal");
  if (drop.detector.kind !== "seasonal") return;
  assert.equal(drop.detector.levelWindowMs, 3 * 3_600_000);
  assert.equal(drop.detector.levelSkipMs, 30 * 60_000);
  assert.equal(drop.detector.levelMinSamples, 30);
  assert.deepEqual(drop.detector.levelBounds, [0.5, 2]);
  assert.equal(drop.detector.counts, true);
  assert.equal(drop.detector.deepDrop, 0.5);
  // Defaults: no level, no counts floor, no deep-drop path.
  const doc = shipped();
  const rules = doc.rules as Record<string, unknown>[];
  const {
    level_window: _w,
    level_skip: _s,
    counts: _c,
    deep_drop: _d,
    ...plain
  } = rules[0];
  doc.rules = [plain];
  const [bare] = parseRuleConfig(doc).rules;
  assert.ok(bare.detector.kind === "seasonal");
  assert.equal(bare.detector.levelWindowMs, 0);
  assert.equal(bare.detector.counts, false);
  assert.equal(bare.detector.deepDrop, 0);
});

Deno.test("parseRuleConfig() rejects inconsistent level options, one message per rule", () => {
  const doc = shipped();
  const rules = doc.rules as Record<string, unknown>[];
  doc.rules = [
    { ...rules[0], level_skip: "3h" },
    { ...rules[1], level_bounds: [1.5, 2] },
    { ...rules[0], name: "OrderDropToo", deep_drop: 1.5 },
    { ...rules[0], name: "OrderDropThree", level_window: "three hours" },
  ];
  const problems = problemsOf(doc);
  assert.equal(problems.length, 4, problems.join("\n"));
  assert.match(
    problems[0],
    /^rules\[0\] \(OrderDrop\): level_skip: must be shorter/,
  );
  assert.match(problems[1], /^rules\[1\] \(RevenueDrop\): level_bounds\[0\]: /);
  assert.match(problems[2], /^rules\[2\] \(OrderDropToo\): deep_drop: /);
  assert.match(
    problems[3],
    /^rules\[3\] \(OrderDropThree\): level_window: invalid duration/,
  );
});
