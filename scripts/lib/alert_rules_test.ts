import assert from "node:assert/strict";
import { renderRulesModule, RULES_MODULE } from "./alert_rules.ts";

Deno.test("the alerts function's rules module is generated from config/alerting/rules.yaml", async () => {
  assert.equal(
    await Deno.readTextFile(RULES_MODULE),
    await renderRulesModule(),
    "run deno task alerts:rules",
  );
});
