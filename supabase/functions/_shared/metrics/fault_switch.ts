/**
 * Test-only fault injection for the monitoring end-to-end tests: once
 * {@linkcode enableTestFaults} has been called — only the local gateway does, and only when its
 * process runs with `COMPTOIR_TEST_FAULTS=1` — a request carrying `x-comptoir-fault: 500` is
 * answered with a 500 problem instead of reaching its handler, and is counted by the HTTP metrics
 * as a 5xx of its function and route. Deployed functions never call `enableTestFaults`, so the
 * header means nothing there.
 * @module
 */

/** Request header that asks for an injected failure. */
export const FAULT_HEADER = "x-comptoir-fault";

/** Environment variable that lets the local gateway enable the switch. */
export const FAULT_ENV = "COMPTOIR_TEST_FAULTS";

let enabled = false;

/**
 * Turns the switch on for this process.
 *
 * @example
 * ```ts
 * if (Deno.env.get(FAULT_ENV) === "1") enableTestFaults();
 * ```
 */
export function enableTestFaults(): void {
  enabled = true;
}

/** Turns the switch off again (tests). */
export function disableTestFaults(): void {
  enabled = false;
}

/**
 * The status to inject for `request`, or `undefined`: always `undefined` while the switch is off.
 * Only 5xx statuses are injected.
 *
 * @example
 * ```ts
 * injectedFault(new Request("http://x/", { headers: { [FAULT_HEADER]: "500" } })); // 500 once enabled
 * ```
 */
export function injectedFault(request: Request): number | undefined {
  if (!enabled) return undefined;
  const raw = request.headers.get(FAULT_HEADER);
  if (raw === null) return undefined;
  const status = Number(raw);
  return Number.isInteger(status) && status >= 500 && status <= 599 ? status : undefined;
}
