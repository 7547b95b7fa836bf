/**
 * The alert rules' source (config/alerting/rules.yaml) and the JSON module generated from it for
 * the alerts function, which cannot read files outside supabase/functions once deployed.
 * @module
 */
import { parse } from "yaml";
import { parseRuleConfig } from "../../supabase/functions/alerts/rules.ts";

/** The rules as maintained. */
export const RULES_SOURCE = new URL("../../config/alerting/rules.yaml", import.meta.url);
/** The module the function imports. */
export const RULES_MODULE = new URL(
  "../../supabase/functions/alerts/rules.generated.json",
  import.meta.url,
);

/** Validates the source (throws RuleConfigError) and returns the module's text. */
export async function renderRulesModule(): Promise<string> {
  const document = parse(await Deno.readTextFile(RULES_SOURCE));
  parseRuleConfig(document);
  return `${JSON.stringify(document, null, 2)}\n`;
}
