/**
 * Waiting in tests: poll a condition until it holds or a deadline passes, so that a test waits as
 * long as a loaded machine needs and no longer, instead of sleeping for a guess.
 * @module
 */

/** Options of {@linkcode waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between two checks (default 100 ms). */
  intervalMs?: number;
}

/**
 * Polls `check` until it returns a value other than `undefined` and returns that value; throws,
 * naming `what` and the last error `check` threw, once `timeoutMs` has passed.
 *
 * @example
 * ```ts
 * const row = await waitFor("the order to be committed", async () =>
 *   (await sql`select id from orders where id = ${id}`)[0]
 * );
 * ```
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 100 }: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (true) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}
