import assert from "node:assert/strict";
import { parseBlockYaml, YamlSubsetError } from "./block_yaml.ts";

Deno.test("parseBlockYaml() reads nested mappings, sequences and compact sequence items", () => {
  const doc = parseBlockYaml(
    [
      "# comment",
      "groups:",
      "  - name: comptoir_http # trailing comment",
      "    interval: 1m",
      "    rules:",
      "      - record: a:b:rate5m",
      "        expr: sum(rate(x[5m]))",
      "      - alert: X",
      "        labels:",
      "          severity: critical",
      "list:",
      "- 1",
      "- two",
      "empty:",
      "",
    ].join("\n"),
  );
  assert.deepEqual(doc, {
    groups: [{
      name: "comptoir_http",
      interval: "1m",
      rules: [
        { record: "a:b:rate5m", expr: "sum(rate(x[5m]))" },
        { alert: "X", labels: { severity: "critical" } },
      ],
    }],
    list: [1, "two"],
    empty: null,
  });
});

Deno.test("parseBlockYaml() reads quoted, typed and flow scalars", () => {
  const doc = parseBlockYaml(
    [
      `a: 'it''s {{ $value }}'`,
      `b: "tab\\tquote\\" \\u00e9"`,
      "c: 0.05",
      "d: -3",
      "e: true",
      "f: ~",
      "g: [alertname, 'job', \"a, b\"]",
      "h: []",
      "i: {}",
      "j: https://example.com/runbooks/a.md",
      "k: '0+10x60 1x5'",
      "'quoted key': 1",
    ].join("\n"),
  );
  assert.deepEqual(doc, {
    a: "it's {{ $value }}",
    b: 'tab\tquote" é',
    c: 0.05,
    d: -3,
    e: true,
    f: null,
    g: ["alertname", "job", "a, b"],
    h: [],
    i: {},
    j: "https://example.com/runbooks/a.md",
    k: "0+10x60 1x5",
    "quoted key": 1,
  });
});

Deno.test("parseBlockYaml() reads literal and folded block scalars with chomping", () => {
  const doc = parseBlockYaml(
    [
      "literal: |",
      "  sum(rate(x[5m]))",
      "    / 2",
      "",
      "folded: >-",
      "  The rate is {{ $value }}",
      "  for 5 minutes.",
      "",
      "  Second paragraph.",
      "kept: |+",
      "  a",
      "",
      "next: 1",
    ].join("\n"),
  );
  assert.deepEqual(doc, {
    literal: "sum(rate(x[5m]))\n  / 2\n",
    folded: "The rate is {{ $value }} for 5 minutes.\nSecond paragraph.",
    kept: "a\n\n",
    next: 1,
  });
});

Deno.test("parseBlockYaml() refuses YAML outside its subset instead of guessing", () => {
  for (
    const text of [
      "a: &anchor 1",
      "a: *alias",
      "a: !!str 1",
      "a: [1, [2]]",
      "a: {b: 1}",
      "a: 'not closed",
      "a: plain\n  continued",
      "a: 1\na: 2",
      "---\na: 1",
      "a:\n\t- 1",
      "a: 1\n   b: 2",
    ]
  ) {
    assert.throws(() => parseBlockYaml(text), YamlSubsetError, text);
  }
});
