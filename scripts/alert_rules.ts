/**
 * `deno task alerts:rules [--check]`: validates config/alerting/rules.yaml (one clear error per bad
 * rule, exit 1) and writes supabase/functions/alerts/rules.generated.json, the module the alerts
 * function imports; with `--check` it only reports whether that module is up to date.
 * @module
 */
import { parseArgs } from "node:util";
import { renderRulesModule, RULES_MODULE, RULES_SOURCE } from "./lib/alert_rules.ts";
import { RuleConfigError } from "../supabase/functions/alerts/rules.ts";

const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
try {
  const rendered = await renderRulesModule();
  const current = await Deno.readTextFile(RULES_MODULE).catch(() => "");
  if (values.check) {
    if (current !== rendered) {
      console.error(`${RULES_MODULE.pathname} is out of date: run deno task alerts:rules`);
      Deno.exit(1);
    }
    console.log("alert rules: valid, module up to date");
  } else {
    await Deno.writeTextFile(RULES_MODULE, rendered);
    console.log(`validated ${RULES_SOURCE.pathname}, wrote ${RULES_MODULE.pathname}`);
  }
} catch (error) {
  if (!(error instanceof RuleConfigError)) throw error;
  console.error(error.message);
  Deno.exit(1);
}
