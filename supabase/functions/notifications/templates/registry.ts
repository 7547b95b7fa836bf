/**
 * Every template by name: the source of `notify.templates` (written by `deno task notify:sync`;
 * the migrations seed the same rows) and what the worker renders.
 * @module
 */
import { alertFiring, alertResolved } from "./alert.ts";
import type { Template } from "./document.ts";
import { orderConfirmation } from "./order_confirmation.ts";
import { stockLow } from "./stock_low.ts";

/** Templates by name. */
export const TEMPLATES: Readonly<Record<string, Template<never>>> = Object
  .fromEntries(
    ([alertFiring, alertResolved, orderConfirmation, stockLow] as Template<
      never
    >[]).map((t) => [
      t.name,
      t,
    ]),
  );
