/**
 * Text sanitization applied by the validation schemas before any rule runs: Unicode NFC (so "é" typed
 * two ways is one value), control characters stripped (C0 except tab/newline in multi-line text, DEL,
 * C1, bidi overrides that can disguise text), surrounding whitespace trimmed.
 * @module
 */

// deno-lint-ignore no-control-regex
const CONTROL_SINGLE_LINE = /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;
// deno-lint-ignore no-control-regex
const CONTROL_MULTI_LINE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

/** Options of {@linkcode sanitizeText}. */
export interface SanitizeOptions {
  /** Keep tabs and newlines (descriptions, notes). */
  multiline?: boolean;
}

/**
 * Normalises to NFC, strips control characters and trims.
 *
 * @example
 * ```ts
 * sanitizeText("  Cafe\u0301\u0000 "); // "Café"
 * ```
 */
export function sanitizeText(value: string, { multiline = false }: SanitizeOptions = {}): string {
  return value
    .normalize("NFC")
    .replace(multiline ? CONTROL_MULTI_LINE : CONTROL_SINGLE_LINE, "")
    .trim();
}

/** Whether `value` holds U+FFFD, the mark left where bytes were not valid UTF-8. */
export function hasReplacementCharacter(value: string): boolean {
  return value.includes("\uFFFD");
}
