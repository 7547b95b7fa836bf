import assert from "node:assert/strict";
import {
  formatMatcher,
  MatcherSyntaxError,
  matches,
  matchesAll,
  parseMatchers,
} from "./matchers.ts";

Deno.test("parseMatchers() reads a braced list with every operator", () => {
  const parsed = parseMatchers(
    '{alertname="OrderDrop", severity=~"critical|warning", team!="ops", instance!~"db-.*"}',
  );
  assert.deepEqual(parsed.map(formatMatcher), [
    'alertname="OrderDrop"',
    'severity=~"critical|warning"',
    'team!="ops"',
    'instance!~"db-.*"',
  ]);
});

Deno.test("parseMatchers() accepts bare values and escapes", () => {
  assert.deepEqual(parseMatchers("alertname=OrderDrop"), [
    { name: "alertname", operator: "=", value: "OrderDrop" },
  ]);
  assert.equal(parseMatchers('summary="a \\"b\\", c"')[0].value, 'a "b", c');
});

Deno.test("parseMatchers() names what is wrong", () => {
  assert.throws(() => parseMatchers(""), MatcherSyntaxError);
  assert.throws(() => parseMatchers("{a=b"), /closing/);
  assert.throws(() => parseMatchers("9a=b"), /label name/);
  assert.throws(() => parseMatchers("a~b"), /expected =/);
  assert.throws(() => parseMatchers('a="b'), /unterminated/);
  assert.throws(() => parseMatchers('a=~"("'), /regular expression/);
  assert.throws(() => parseMatchers('a="b" c="d"'), /unexpected/);
});

Deno.test("matches() anchors regular expressions and treats a missing label as empty", () => {
  const [regex] = parseMatchers('severity=~"crit"');
  assert.equal(matches(regex, { severity: "critical" }), false);
  assert.equal(matches(regex, { severity: "crit" }), true);
  assert.equal(matchesAll(parseMatchers('team=""'), {}), true);
  assert.equal(matchesAll(parseMatchers('team!~"ops|db"'), { team: "shop" }), true);
});
