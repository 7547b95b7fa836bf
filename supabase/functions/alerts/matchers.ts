/**
 * Alertmanager's label matchers (`alertname="OrderDrop"`, `severity=~"critical|page"`,
 * `team!="ops"`, `instance!~"db-.*"`), alone or as a `{…}` list separated by commas: the syntax of
 * silences, inhibition rules and `amtool`. Values may be double-quoted (with `\"`, `\\` and `\n`
 * escapes) or bare; regular expressions are anchored on both ends, as in Alertmanager. Hand-written
 * because the only implementation is Alertmanager's Go package.
 * @module
 */
import type { Labels } from "./fingerprint.ts";

/** Matcher operators. */
export type MatchOperator = "=" | "!=" | "=~" | "!~";

/** One parsed matcher. */
export interface Matcher {
  name: string;
  operator: MatchOperator;
  value: string;
}

/** A matcher that cannot be parsed; `message` says where and why. */
export class MatcherSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MatcherSyntaxError";
  }
}

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/**
 * Parses one matcher or a `{…}` list of them.
 *
 * @example
 * ```ts
 * parseMatchers('{alertname="OrderDrop", severity=~"critical|warning"}');
 * // [{ name: "alertname", operator: "=", value: "OrderDrop" }, { name: "severity", … }]
 * ```
 */
export function parseMatchers(input: string): Matcher[] {
  let text = input.trim();
  if (text.startsWith("{")) {
    if (!text.endsWith("}")) throw new MatcherSyntaxError("missing closing '}'");
    text = text.slice(1, -1).trim();
  }
  const matchers: Matcher[] = [];
  let rest = text;
  while (rest.length > 0) {
    const name = NAME.exec(rest)?.[0];
    if (!name) throw new MatcherSyntaxError(`expected a label name at "${rest.slice(0, 20)}"`);
    rest = rest.slice(name.length).trimStart();
    const operator = (["=~", "!~", "!=", "="] as const).find((op) => rest.startsWith(op));
    if (!operator) {
      throw new MatcherSyntaxError(`expected =, !=, =~ or !~ after "${name}"`);
    }
    rest = rest.slice(operator.length).trimStart();
    let value: string;
    if (rest.startsWith('"')) {
      const parsed = quoted(rest);
      value = parsed.value;
      rest = parsed.rest.trimStart();
    } else {
      const end = rest.search(/[,}]/);
      value = (end === -1 ? rest : rest.slice(0, end)).trim();
      rest = end === -1 ? "" : rest.slice(end);
    }
    const matcher = { name, operator, value };
    if (operator === "=~" || operator === "!~") compile(matcher);
    matchers.push(matcher);
    if (rest.startsWith(",")) rest = rest.slice(1).trimStart();
    else if (rest.length > 0) throw new MatcherSyntaxError(`unexpected "${rest.slice(0, 20)}"`);
  }
  if (matchers.length === 0) throw new MatcherSyntaxError("no matcher given");
  return matchers;
}

function quoted(text: string): { value: string; rest: string } {
  let value = "";
  for (let i = 1; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\") {
      const next = text[++i];
      if (next === undefined) break;
      value += next === "n" ? "\n" : next;
    } else if (ch === '"') {
      return { value, rest: text.slice(i + 1) };
    } else {
      value += ch;
    }
  }
  throw new MatcherSyntaxError("unterminated quoted value");
}

const regexCache = new Map<string, RegExp>();

function compile(matcher: Matcher): RegExp {
  let regex = regexCache.get(matcher.value);
  if (!regex) {
    try {
      regex = new RegExp(`^(?:${matcher.value})$`);
    } catch {
      throw new MatcherSyntaxError(`invalid regular expression for "${matcher.name}"`);
    }
    regexCache.set(matcher.value, regex);
  }
  return regex;
}

/**
 * Whether `labels` satisfy one matcher; a missing label is the empty string, as in Alertmanager.
 *
 * @example
 * ```ts
 * matches({ name: "team", operator: "!=", value: "ops" }, { team: "shop" }); // true
 * ```
 */
export function matches(matcher: Matcher, labels: Labels): boolean {
  const actual = labels[matcher.name] ?? "";
  switch (matcher.operator) {
    case "=":
      return actual === matcher.value;
    case "!=":
      return actual !== matcher.value;
    case "=~":
      return compile(matcher).test(actual);
    case "!~":
      return !compile(matcher).test(actual);
  }
}

/** Whether `labels` satisfy every matcher. */
export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  return matchers.every((m) => matches(m, labels));
}

/** A matcher written back in Alertmanager's syntax. */
export function formatMatcher({ name, operator, value }: Matcher): string {
  return `${name}${operator}${JSON.stringify(value)}`;
}
