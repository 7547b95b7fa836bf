/**
 * The order confirmation (`order.placed`, queued by the orders trigger at commit): sent to the
 * customer by email, and usable for the team's Slack or a subscriber's webhook.
 * @module
 */
import { z } from "zod";
import type { Template } from "./document.ts";
import { formatMoney, formatTime } from "./format.ts";

const cents = z.number().int().min(0);

/** The payload of `order.placed`. */
export const orderPlacedSchema = z.object({
  order: z.object({
    id: z.number().int().positive(),
    status: z.string(),
    currency: z.string().regex(/^[A-Z]{3}$/),
    subtotal_cents: cents,
    shipping_cents: cents,
    total_cents: cents,
    item_count: z.number().int().min(0),
    placed_at: z.string(),
  }),
  items: z.array(z.object({
    line_no: z.number().int().positive(),
    sku: z.string(),
    name: z.string(),
    quantity: z.number().int().positive(),
    unit_price_cents: cents,
    line_total_cents: cents,
  })).max(1000),
  customer: z.object({
    id: z.string(),
    email: z.string(),
    full_name: z.string().default(""),
  }),
  locale: z.enum(["en", "fr"]).optional(),
});

/** A parsed `order.placed` payload. */
export type OrderPlaced = z.output<typeof orderPlacedSchema>;

const TEXT = {
  en: {
    title: (id: number) => `Your order #${id} is confirmed`,
    hello: (name: string) => name ? `Hello ${name},` : "Hello,",
    intro: "Thank you for your order. Here is what you ordered:",
    subtotal: "Subtotal",
    shipping: "Shipping",
    free: "free",
    total: "Total",
    placed: "Placed",
    footer: "We will let you know when it ships.",
  },
  fr: {
    title: (id: number) => `Votre commande n° ${id} est confirmée`,
    hello: (name: string) => name ? `Bonjour ${name},` : "Bonjour,",
    intro: "Merci pour votre commande. Voici ce que vous avez commandé :",
    subtotal: "Sous-total",
    shipping: "Livraison",
    free: "offerte",
    total: "Total",
    placed: "Passée le",
    footer: "Nous vous préviendrons dès son expédition.",
  },
} as const;

/** `order.confirmation`. */
export const orderConfirmation: Template<OrderPlaced> = {
  name: "order.confirmation",
  description: "Order confirmation to the customer (or the team).",
  channels: ["email", "slack", "webhook"],
  required: ["order", "items", "customer"],
  schema: orderPlacedSchema,
  sample: {
    order: {
      id: 1042,
      status: "pending",
      currency: "EUR",
      subtotal_cents: 8997,
      shipping_cents: 490,
      total_cents: 9487,
      item_count: 3,
      placed_at: "2026-12-04T09:30:00Z",
    },
    items: [
      {
        line_no: 1,
        sku: "MUG-000012",
        name: "Mug <Émaillé> & bleu",
        quantity: 2,
        unit_price_cents: 1999,
        line_total_cents: 3998,
      },
      {
        line_no: 2,
        sku: "LAM-000003",
        name: "Lampe de bureau",
        quantity: 1,
        unit_price_cents: 4999,
        line_total_cents: 4999,
      },
    ],
    customer: {
      id: "2ed8b125-2e33-4ca1-8fbc-682fba1f19bf",
      email: "camille@example.com",
      full_name: "Camille Martin",
    },
  },
  render(order, locale) {
    const t = TEXT[locale];
    const money = (v: number) => formatMoney(v, order.order.currency, locale);
    return {
      title: t.title(order.order.id),
      intro: `${t.hello(order.customer.full_name)}\n${t.intro}`,
      sections: [
        {
          text: order.items
            .map((i) => `${i.quantity} × ${i.name} (${i.sku}) — ${money(i.line_total_cents)}`)
            .join("\n"),
        },
        {
          fields: [
            [t.subtotal, money(order.order.subtotal_cents)],
            [
              t.shipping,
              order.order.shipping_cents === 0 ? t.free : money(order.order.shipping_cents),
            ],
            [t.total, money(order.order.total_cents)],
            [t.placed, formatTime(order.order.placed_at, locale)],
          ],
        },
      ],
      links: [],
      footer: t.footer,
      severity: "info",
    };
  },
};
