/**
 * Low stock (`stock.low`, queued by the inventory trigger when available stock crosses the
 * threshold downwards), for the team.
 * @module
 */
import { z } from "zod";
import type { Template } from "./document.ts";

/** The payload of `stock.low`. */
export const stockLowSchema = z.object({
  product: z.object({
    id: z.number().int().positive(),
    sku: z.string(),
    name: z.string(),
  }),
  available: z.number().int(),
  on_hand: z.number().int().optional(),
  reserved: z.number().int().optional(),
  threshold: z.number().int(),
  locale: z.enum(["en", "fr"]).optional(),
});

/** A parsed `stock.low` payload. */
export type StockLow = z.output<typeof stockLowSchema>;

const TEXT = {
  en: {
    title: (name: string, n: number) => `Low stock: ${name} (${n} left)`,
    intro: (threshold: number) =>
      `Available stock fell to the threshold of ${threshold} units or below.`,
    available: "Available",
    onHand: "On hand",
    reserved: "Reserved",
    threshold: "Threshold",
    sku: "SKU",
  },
  fr: {
    title: (name: string, n: number) => `Stock bas : ${name} (${n} restant${n > 1 ? "s" : ""})`,
    intro: (threshold: number) =>
      `Le stock disponible est passé sous le seuil de ${threshold} unités.`,
    available: "Disponible",
    onHand: "En stock",
    reserved: "Réservé",
    threshold: "Seuil",
    sku: "Référence",
  },
} as const;

/** `stock.low`. */
export const stockLow: Template<StockLow> = {
  name: "stock.low",
  description: "A product's available stock crossed its threshold.",
  channels: ["slack", "email", "webhook"],
  required: ["product", "available", "threshold"],
  schema: stockLowSchema,
  sample: {
    product: { id: 12, sku: "MUG-000012", name: "Mug émaillé bleu" },
    available: 4,
    on_hand: 10,
    reserved: 6,
    threshold: 10,
  },
  render(stock, locale) {
    const t = TEXT[locale];
    const fields: [string, string][] = [
      [t.sku, stock.product.sku],
      [t.available, String(stock.available)],
      [t.threshold, String(stock.threshold)],
    ];
    if (stock.on_hand !== undefined) {
      fields.push([t.onHand, String(stock.on_hand)]);
    }
    if (stock.reserved !== undefined) {
      fields.push([t.reserved, String(stock.reserved)]);
    }
    return {
      title: t.title(stock.product.name, stock.available),
      intro: t.intro(stock.threshold),
      sections: [{ fields }],
      links: [],
      severity: "warning",
    };
  },
};
