/**
 * A reader for the block-style YAML of the monitoring configuration (Prometheus rules, promtool
 * tests), so that tests can check what those files declare. Written here because the YAML parser of
 * Deno's standard library is published on JSR, which this project cannot reach, and the import map
 * carries no YAML package.
 *
 * It reads block mappings and sequences, plain and quoted scalars, one-line flow sequences of
 * scalars, `[]` and `{}`, and literal or folded block scalars with chomping indicators. Anything
 * else (anchors, aliases, tags, multi-line flow collections or quoted scalars, several documents)
 * is refused with the line number, never guessed: the real tools (promtool, amtool) remain the
 * judges of the files, and a construct read wrongly here must fail a test, not pass one.
 * @module
 */

/** A value read from YAML. */
export type YamlValue = null | boolean | number | string | YamlValue[] | {
  [key: string]: YamlValue;
};

/** Raised for YAML outside the subset this reader understands, or for malformed YAML. */
export class YamlSubsetError extends Error {
  constructor(message: string, line: number) {
    super(`${message} (line ${line})`);
    this.name = "YamlSubsetError";
  }
}

/**
 * Parses one YAML document.
 *
 * @example
 * ```ts
 * const doc = parseBlockYaml("groups:\n  - name: a\n    rules: []\n");
 * // { groups: [{ name: "a", rules: [] }] }
 * ```
 */
export function parseBlockYaml(text: string): YamlValue {
  return new BlockYamlParser(text).document();
}

const INT = /^[-+]?(0|[1-9][0-9]*)$/;
const FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BLOCK_SCALAR = /^([|>])([-+]?)$/;

class BlockYamlParser {
  #lines: string[];
  #pos = 0;

  constructor(text: string) {
    this.#lines = text.replace(/\r\n?/g, "\n").split("\n");
  }

  document(): YamlValue {
    const first = this.#nextSignificant();
    if (first === undefined) return null;
    if (this.#content(first).startsWith("---")) {
      throw new YamlSubsetError("document markers are not supported", first + 1);
    }
    const value = this.#node(this.#indent(first));
    const rest = this.#nextSignificant();
    if (rest !== undefined) {
      throw new YamlSubsetError("unexpected content after the document", rest + 1);
    }
    return value;
  }

  /** Index of the next line that is neither blank nor a comment, leaving #pos on it. */
  #nextSignificant(): number | undefined {
    while (this.#pos < this.#lines.length) {
      const line = this.#lines[this.#pos];
      const trimmed = line.trim();
      if (trimmed !== "" && !trimmed.startsWith("#")) {
        if (/^\s*\t/.test(line)) throw new YamlSubsetError("tab indentation", this.#pos + 1);
        return this.#pos;
      }
      this.#pos++;
    }
    return undefined;
  }

  #indent(index: number): number {
    return this.#lines[index].length - this.#lines[index].trimStart().length;
  }

  #content(index: number): string {
    return this.#lines[index].trimStart();
  }

  #isSequenceItem(index: number): boolean {
    const text = this.#content(index);
    return text === "-" || text.startsWith("- ");
  }

  #node(indent: number): YamlValue {
    const index = this.#nextSignificant();
    if (index === undefined) return null;
    return this.#isSequenceItem(index) ? this.#sequence(indent) : this.#mapping(indent);
  }

  #sequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (;;) {
      const index = this.#nextSignificant();
      if (index === undefined || this.#indent(index) !== indent || !this.#isSequenceItem(index)) {
        if (index !== undefined && this.#indent(index) > indent) {
          throw new YamlSubsetError("bad indentation in a sequence", index + 1);
        }
        return items;
      }
      const text = this.#content(index);
      const rest = text.slice(1).trimStart();
      if (rest === "" || rest.startsWith("#")) {
        this.#pos++;
        const child = this.#nextSignificant();
        items.push(
          child !== undefined && this.#indent(child) > indent
            ? this.#node(this.#indent(child))
            : null,
        );
      } else if (splitKey(rest) !== undefined) {
        // "- key: value": the item is a mapping whose keys line up with this first key.
        const column = indent + (text.length - rest.length);
        this.#lines[index] = " ".repeat(column) + rest;
        items.push(this.#mapping(column));
      } else {
        items.push(this.#inlineValue(rest, indent, index));
      }
    }
  }

  #mapping(indent: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    for (;;) {
      const index = this.#nextSignificant();
      if (index === undefined || this.#indent(index) < indent) return map;
      if (this.#indent(index) > indent) {
        throw new YamlSubsetError("bad indentation in a mapping", index + 1);
      }
      if (this.#isSequenceItem(index)) return map;
      const split = splitKey(this.#content(index));
      if (split === undefined) throw new YamlSubsetError("expected `key: value`", index + 1);
      const [key, rest] = split;
      if (Object.hasOwn(map, key)) throw new YamlSubsetError(`duplicate key ${key}`, index + 1);
      if (rest === "" || rest.startsWith("#")) {
        this.#pos++;
        const child = this.#nextSignificant();
        if (child === undefined) map[key] = null;
        else if (this.#indent(child) > indent) map[key] = this.#node(this.#indent(child));
        else if (this.#indent(child) === indent && this.#isSequenceItem(child)) {
          map[key] = this.#sequence(indent);
        } else map[key] = null;
      } else {
        map[key] = this.#inlineValue(rest, indent, index);
      }
    }
  }

  /** The value written after `key:` or `- ` on line `index`; consumes the line (and a block scalar). */
  #inlineValue(text: string, parentIndent: number, index: number): YamlValue {
    this.#pos = index + 1;
    const block = BLOCK_SCALAR.exec(stripComment(text));
    if (block) return this.#blockScalar(block[1] === ">", block[2], parentIndent);
    const first = text[0];
    if (first === "&" || first === "*" || first === "!") {
      throw new YamlSubsetError("anchors, aliases and tags are not supported", index + 1);
    }
    if (first === "'" || first === '"') {
      const [value, end] = readQuoted(text, 0, index + 1);
      const after = text.slice(end).trim();
      if (after !== "" && !after.startsWith("#")) {
        throw new YamlSubsetError("unexpected text after a quoted scalar", index + 1);
      }
      this.#refuseContinuation(parentIndent);
      return value;
    }
    if (first === "[") return readFlowSequence(stripComment(text), index + 1);
    if (first === "{") {
      if (stripComment(text) === "{}") return {};
      throw new YamlSubsetError("flow mappings are not supported", index + 1);
    }
    this.#refuseContinuation(parentIndent);
    return plainScalar(stripComment(text));
  }

  /** Plain and quoted scalars folded over several lines are outside the subset. */
  #refuseContinuation(parentIndent: number): void {
    const next = this.#nextSignificant();
    if (next !== undefined && this.#indent(next) > parentIndent && !this.#isSequenceItem(next)) {
      if (splitKey(this.#content(next)) === undefined) {
        throw new YamlSubsetError("multi-line scalars are not supported", next + 1);
      }
    }
  }

  #blockScalar(folded: boolean, chomping: string, parentIndent: number): string {
    const raw: string[] = [];
    let contentIndent = -1;
    while (this.#pos < this.#lines.length) {
      const line = this.#lines[this.#pos];
      if (line.trim() === "") {
        raw.push("");
        this.#pos++;
        continue;
      }
      const indent = line.length - line.trimStart().length;
      if (contentIndent < 0) {
        if (indent <= parentIndent) break;
        contentIndent = indent;
      }
      if (indent < contentIndent) break;
      raw.push(line.slice(contentIndent));
      this.#pos++;
    }
    let trailing = 0;
    while (raw.length > 0 && raw[raw.length - 1] === "") {
      raw.pop();
      trailing++;
    }
    let body: string;
    if (!folded) {
      body = raw.join("\n");
    } else {
      body = "";
      let breaks = 0;
      let previous: string | undefined;
      for (const line of raw) {
        if (line === "") {
          breaks++;
          continue;
        }
        if (previous === undefined) body += "\n".repeat(breaks) + line;
        else if (breaks > 0) body += "\n".repeat(breaks) + line;
        else if (line.startsWith(" ") || previous.startsWith(" ")) body += "\n" + line;
        else body += " " + line;
        breaks = 0;
        previous = line;
      }
    }
    if (raw.length === 0) return "";
    if (chomping === "-") return body;
    if (chomping === "+") return body + "\n".repeat(trailing + 1);
    return body + "\n";
  }
}

/** Splits `key: rest` at the first `:` followed by a space or the end, outside quotes. */
function splitKey(text: string): [string, string] | undefined {
  if (text.startsWith("'") || text.startsWith('"')) {
    const [key, end] = readQuoted(text, 0, 0);
    const after = text.slice(end);
    if (after === ":" || after.startsWith(": ")) return [String(key), after.slice(1).trim()];
    return undefined;
  }
  if (text.startsWith("[") || text.startsWith("{") || text.startsWith("#")) return undefined;
  const match = /:(\s|$)/.exec(text);
  if (!match) return undefined;
  const key = text.slice(0, match.index).trim();
  if (key.includes(" #")) return undefined;
  return [key, text.slice(match.index + 1).trim()];
}

function stripComment(text: string): string {
  const match = /(^|\s)#/.exec(text);
  return (match ? text.slice(0, match.index) : text).trim();
}

/** Reads a quoted scalar starting at `start`; returns the value and the index after the quote. */
function readQuoted(text: string, start: number, line: number): [string, number] {
  const quote = text[start];
  let value = "";
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") {
        if (text[i + 1] === "'") {
          value += "'";
          i++;
          continue;
        }
        return [value, i + 1];
      }
      value += c;
      continue;
    }
    if (c === '"') return [value, i + 1];
    if (c !== "\\") {
      value += c;
      continue;
    }
    const e = text[++i];
    const simple: Record<string, string> = {
      "0": "\0",
      "n": "\n",
      "t": "\t",
      "r": "\r",
      '"': '"',
      "\\": "\\",
      "/": "/",
      " ": " ",
    };
    if (e in simple) value += simple[e];
    else if (e === "u" || e === "x") {
      const size = e === "u" ? 4 : 2;
      const hex = text.slice(i + 1, i + 1 + size);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== size) {
        throw new YamlSubsetError("bad escape in a double-quoted scalar", line);
      }
      value += String.fromCharCode(parseInt(hex, 16));
      i += size;
    } else throw new YamlSubsetError(`unsupported escape \\${e}`, line);
  }
  throw new YamlSubsetError("quoted scalar not closed on its line", line);
}

function readFlowSequence(text: string, line: number): YamlValue[] {
  if (!text.endsWith("]")) throw new YamlSubsetError("flow sequence not closed on its line", line);
  const inner = text.slice(1, -1).trim();
  if (inner === "") return [];
  const items: YamlValue[] = [];
  let i = 0;
  while (i <= inner.length) {
    while (inner[i] === " ") i++;
    let item: YamlValue;
    if (inner[i] === "'" || inner[i] === '"') {
      const [value, end] = readQuoted(inner, i, line);
      item = value;
      i = end;
      while (inner[i] === " ") i++;
    } else {
      const comma = inner.indexOf(",", i);
      const raw = inner.slice(i, comma < 0 ? inner.length : comma).trim();
      if (/[[\]{}]/.test(raw)) throw new YamlSubsetError("nested flow collections", line);
      item = plainScalar(raw);
      i = comma < 0 ? inner.length : comma;
    }
    items.push(item);
    if (i >= inner.length) break;
    if (inner[i] !== ",") throw new YamlSubsetError("expected `,` in a flow sequence", line);
    i++;
  }
  return items;
}

function plainScalar(text: string): YamlValue {
  if (text === "" || text === "~" || text === "null") return null;
  if (text === "true") return true;
  if (text === "false") return false;
  if (INT.test(text) || FLOAT.test(text)) return Number(text);
  if (/^[-+]?\.inf$/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  if (/^\.nan$/i.test(text)) return NaN;
  return text;
}
