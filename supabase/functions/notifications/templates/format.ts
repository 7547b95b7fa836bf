/**
 * Locale-aware formatting of amounts and times for templates (Intl, no dependency).
 * @module
 */
import type { Locale } from "../model.ts";

const TAGS: Record<Locale, string> = { en: "en-GB", fr: "fr-FR" };

/**
 * An amount in minor units as the locale writes it.
 *
 * @example
 * ```ts
 * formatMoney(123456, "EUR", "fr"); // "1 234,56 €"
 * ```
 */
export function formatMoney(
  minorUnits: number,
  currency: string,
  locale: Locale,
): string {
  const format = new Intl.NumberFormat(TAGS[locale], {
    style: "currency",
    currency,
  });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minorUnits / 10 ** digits);
}

/**
 * A time as the locale writes it, in UTC.
 *
 * @example
 * ```ts
 * formatTime("2026-12-04T10:00:00Z", "en"); // "4 Dec 2026, 10:00 UTC"
 * ```
 */
export function formatTime(iso: string, locale: Locale): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return new Intl.DateTimeFormat(TAGS[locale], {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: "UTC",
  }).format(at) + " UTC";
}
