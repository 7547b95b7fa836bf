/**
 * Test-only fault injection for the monitoring end-to-end tests: once
 * {@linkcode enableTestFaults} has been called — only the local gateway does, and only when its
 * process runs with `COMPTOIR_TEST_FAULTS=1` — a request carrying `x-comptoir-fault: 500` is
 * answered with a 500 problem instead of reaching its handler, and is counted by the HTTP metrics
 * as a 5xx of its function and route; a request carrying `x-comptoir-fault-db-sleep-ms: 300` has
 * every database statement it issues preceded by `select pg_sleep(0.3)` on the same pool (see
 * db/instrument.ts), so its statements are slow for real and hold pooled connections. The
 * middleware that does it, {@linkcode testFaults}, is installed by `createFunctionApp` only in a
 * process where the switch was on when the app was built (the gateway turns it on before it
 * imports the functions); deployed functions never call `enableTestFaults`, so their middleware
 * chain does not have it.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { MiddlewareHandler } from "hono";
import { problem, problemResponse } from "../http/problem.ts";

/** Request header that asks for an injected failure. */
export const FAULT_HEADER = "x-comptoir-fault";

/** Request header that asks for slow database statements (milliseconds, at most 10 000). */
export const DB_SLEEP_HEADER = "x-comptoir-fault-db-sleep-ms";

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

/** Whether the switch is on. */
export function testFaultsEnabled(): boolean {
  return enabled;
}

/**
 * The middleware answering the fault headers (after the HTTP metrics, which count its 5xx under
 * the route); it does nothing once the switch is off.
 *
 * @example
 * ```ts
 * if (testFaultsEnabled()) app.use(testFaults());
 * ```
 */
export function testFaults(): MiddlewareHandler {
  return async function injectTestFault(c, next) {
    const fault = injectedFault(c.req.raw);
    if (fault !== undefined) {
      c.res = problemResponse({
        ...problem("internal", "Fault injected by the x-comptoir-fault test header"),
        status: fault,
        instance: c.req.path,
      });
      return;
    }
    const sleepMs = injectedDbSleepMs(c.req.raw);
    if (sleepMs === undefined) await next();
    else await withDbSleep(sleepMs, next);
  };
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

/**
 * The database delay to inject for `request` in ms, or `undefined`: always `undefined` while the
 * switch is off.
 *
 * @example
 * ```ts
 * injectedDbSleepMs(new Request("http://x/", { headers: { [DB_SLEEP_HEADER]: "300" } })); // 300 once enabled
 * ```
 */
export function injectedDbSleepMs(request: Request): number | undefined {
  if (!enabled) return undefined;
  const raw = request.headers.get(DB_SLEEP_HEADER);
  if (raw === null) return undefined;
  const ms = Number(raw);
  return Number.isInteger(ms) && ms > 0 && ms <= 10_000 ? ms : undefined;
}

const dbSleep = new AsyncLocalStorage<number>();

/**
 * Runs `fn` with every database statement it issues delayed by `ms` (the request's injected fault).
 *
 * @example
 * ```ts
 * await withDbSleep(300, () => next());
 * ```
 */
export function withDbSleep<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  return dbSleep.run(ms, fn);
}

/**
 * The delay injected into the statements of the current request, or `undefined` (the usual case).
 *
 * @example
 * ```ts
 * const ms = currentDbSleepMs();
 * ```
 */
export function currentDbSleepMs(): number | undefined {
  return enabled ? dbSleep.getStore() : undefined;
}
