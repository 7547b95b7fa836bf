/**
 * The api's own database errors: the SQLSTATEs of class `CT` that comptoir's order SQL raises
 * (shop_api.place_order, see its comment), their problem types, and {@linkcode shopCall}, the
 * api's way to call the database (the shared `withDbErrors` with these codes added).
 * @module
 */
import {
  defineProblemTypes,
  problem,
  ProblemError,
  type ProblemType,
} from "../_shared/http/problem.ts";
import { type PgError, withDbErrors, type WithDbErrorsOptions } from "../_shared/db/errors.ts";

/** The api's problem types beyond the shared catalog. */
export const SHOP_PROBLEM_TYPES: Readonly<Record<string, ProblemType>> = defineProblemTypes({
  "unknown-products": { status: 422, title: "Unknown or unavailable products" },
  "insufficient-stock": { status: 409, title: "Not enough stock" },
  "idempotency-key-reused": { status: 422, title: "Idempotency key reused" },
  "mixed-currencies": { status: 422, title: "Mixed currencies" },
  "too-many-pending-orders": { status: 429, title: "Too many pending orders" },
});

/** What each `CT` code is: its problem, and its reason in the checkout failure metric. */
const SHOP_SQLSTATES: Readonly<
  Record<string, { type: string; detail: string; field?: string; checkout: string }>
> = {
  CT404: {
    type: "unknown-products",
    detail: "Some lines name products that do not exist or are not for sale",
    field: "lines",
    checkout: "validation",
  },
  CT410: {
    type: "insufficient-stock",
    detail: "Some lines ask for more units than are available",
    field: "shortages",
    checkout: "out_of_stock",
  },
  CT409: {
    type: "idempotency-key-reused",
    detail: "This Idempotency-Key was already used with a different request body",
    checkout: "conflict",
  },
  CT422: {
    type: "mixed-currencies",
    detail: "All products of an order must share one currency",
    checkout: "validation",
  },
  CT429: {
    type: "too-many-pending-orders",
    detail: "Pay or wait for some of your unpaid orders to expire before placing another",
    field: "limits",
    checkout: "validation",
  },
};

function parseDetail(detail: string | undefined): unknown {
  if (!detail) return undefined;
  try {
    return JSON.parse(detail);
  } catch {
    return undefined;
  }
}

/**
 * The problem of a `CT` error, its details (the lines at fault) from the error's `detail`.
 *
 * @example
 * ```ts
 * shopProblem({ code: "CT410", detail: '[{"product_id":1}]' })?.problem.status; // 409
 * ```
 */
export function shopProblem(error: PgError): ProblemError | undefined {
  const known = typeof error?.code === "string" ? SHOP_SQLSTATES[error.code] : undefined;
  if (!known) return undefined;
  const extra = known.field ? { [known.field]: parseDetail(error.detail) } : {};
  return new ProblemError(problem(known.type, known.detail, extra, SHOP_PROBLEM_TYPES));
}

/**
 * The checkout failure reason (metrics contract) of a `CT` code, or undefined for other codes.
 *
 * @example
 * ```ts
 * shopCheckoutReason("CT410"); // "out_of_stock"
 * ```
 */
export function shopCheckoutReason(code: string): string | undefined {
  return SHOP_SQLSTATES[code]?.checkout;
}

/**
 * A database call of the api: through the breaker, retried when idempotent, every failure turned
 * into its problem (the `CT` codes, then the shared table).
 *
 * @example
 * ```ts
 * const rows = await shopCall(() => catalog.searchProducts(getDb(), query), { idempotent: true });
 * ```
 */
export function shopCall<T>(
  fn: () => Promise<T>,
  options: Omit<WithDbErrorsOptions, "problemFor"> = {},
): Promise<T> {
  return withDbErrors(fn, { ...options, problemFor: shopProblem });
}
