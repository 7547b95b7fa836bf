/**
 * Orders: placement (shop_api.place_order_document, one statement that answers with the order),
 * the caller's orders and one order's details. Reads run as the caller (role + JWT claims), so RLS
 * decides what they see. Placement runs as the connection's own role with the verified user id:
 * shop_api is out of the Data API's reach, so an order cannot skip the API's rate limit or pick its
 * own request hash; the caller's claims and request id are set in the same transaction, for the
 * audit trail. Each call is one round trip (see db/as_caller.ts and db/params.ts).
 * @module
 */
import type { Sql } from "../_shared/db/client.ts";
import { asCaller, callerSettings } from "../_shared/db/as_caller.ts";
import { text } from "../_shared/db/params.ts";
import { sqlStateRule } from "../_shared/db/sqlstate.ts";
import { shopCheckoutReason } from "./shop_errors.ts";
import type { Caller } from "../_shared/auth/caller.ts";
import {
  recordCheckoutAttempt,
  recordCheckoutFailure,
  recordOrderCreated,
} from "../_shared/metrics/hooks.ts";

/** A line of a new order. */
export interface OrderLine {
  product_id?: number;
  sku?: string;
  quantity: number;
}

/** Hex SHA-256 of a canonical JSON form of the body, to tell an idempotent retry from a new request. */
export async function requestHash(value: unknown): Promise<string> {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v && typeof v === "object"
      ? Object.fromEntries(
        Object.keys(v).sort().map((
          k,
        ) => [k, canonical((v as Record<string, unknown>)[k])]),
      )
      : v;
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(canonical(value))),
  );
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Places an order; returns its details and whether it replays an earlier request. */
export async function placeOrder(
  sql: Sql,
  caller: Caller,
  items: OrderLine[],
  idempotencyKey: string | undefined,
) {
  const hash = idempotencyKey ? await requestHash({ items }) : null;
  recordCheckoutAttempt();
  try {
    const [, [row]] = await sql.batch(
      [
        callerSettings(sql, caller, { asRole: false }),
        sql`
        select document, replayed
        from shop_api.place_order_document(${text(sql, caller.userId)}::uuid,
          ${sql.json(items as never)}, ${text(sql, idempotencyKey)}, ${text(sql, hash)})`,
      ] as const,
    );
    const placed = {
      order: row.document as Record<string, unknown>,
      replayed: row.replayed as boolean,
    };
    if (!placed.replayed) {
      recordOrderCreated({
        currency: String(placed.order.currency),
        totalMinorUnits: Number(placed.order.total_cents),
      });
    }
    return placed;
  } catch (err) {
    recordCheckoutFailure(checkoutFailureReason(err));
    throw err;
  }
}

/** The checkout failure reason (metrics contract) of a placement error. */
function checkoutFailureReason(err: unknown): string {
  const code = String((err as { code?: unknown })?.code ?? "");
  const own = shopCheckoutReason(code);
  if (own) return own;
  switch (sqlStateRule(code).kind) {
    case "conflict":
      return "conflict";
    case "bad_value":
    case "forbidden":
      return "validation";
    default:
      return "internal";
  }
}

/** The caller's orders, newest first, keyset-paginated by id. */
export async function listOrders(
  sql: Sql,
  caller: Caller,
  { limit, cursor }: { limit: number; cursor?: Record<string, unknown> },
) {
  const before = typeof cursor?.id === "number" ? cursor.id : null;
  const rows = await asCaller(sql, caller, (q) =>
    q`
      select id, status, currency, subtotal_cents, shipping_cents, total_cents, item_count, placed_at
      from public.orders
      where customer_id = ${text(q, caller.userId)}::uuid
        and (${before}::bigint is null or id < ${before})
      order by id desc
      limit ${limit + 1}`);
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  return {
    rows: pageRows,
    next: more ? { id: pageRows[pageRows.length - 1].id } : undefined,
  };
}

/** One order as the caller may see it (RLS), or null. */
export async function orderDetails(sql: Sql, caller: Caller, id: number) {
  const [{ doc }] = await asCaller(
    sql,
    caller,
    (q) => q`select public.order_details(${id}) as doc`,
  );
  return doc as Record<string, unknown> | null;
}
