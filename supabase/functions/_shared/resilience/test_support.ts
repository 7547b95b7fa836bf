/**
 * Test support: drives a {@linkcode FakeClock} until a promise settles.
 * @module
 */
import type { FakeClock } from "../clock.ts";

/** Advances `clock` in `stepMs` steps until `promise` settles (at most `maxSteps`), then returns it. */
export async function drive<T>(
  clock: FakeClock,
  promise: Promise<T>,
  { stepMs = 1000, maxSteps = 10_000 } = {},
): Promise<T> {
  let settled = false;
  promise.then(() => settled = true, () => settled = true);
  for (let i = 0; i < maxSteps && !settled; i++) await clock.advance(stepMs);
  return await promise;
}
