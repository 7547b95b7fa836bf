import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { CircuitBreaker } from "./circuit_breaker.ts";
import { Deadline } from "./deadline.ts";
import { CircuitOpenError, DeadlineExceededError } from "./errors.ts";
import { resilient } from "./resilient.ts";
import { drive } from "./test_support.ts";

Deno.test("resilient() retries an attempt that timed out and returns the next success", async () => {
  const clock = new FakeClock();
  let attempts = 0;
  const aborted: boolean[] = [];
  const result = await drive(
    clock,
    resilient(({ signal, attempt }) => {
      attempts = attempt;
      if (attempt === 1) {
        return new Promise<string>((_, reject) =>
          signal.addEventListener("abort", () => {
            aborted.push(true);
            reject(signal.reason);
          })
        );
      }
      return Promise.resolve("fresh");
    }, { retry: { idempotent: true, attempts: 3 }, timeout: 2000, clock }),
    { stepMs: 250 },
  );
  assert.equal(result, "fresh");
  assert.equal(attempts, 2);
  assert.deepEqual(aborted, [true]);
});

Deno.test("resilient() stops retrying as soon as the breaker opens", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("search", { failureThreshold: 2, clock });
  let calls = 0;
  const run = resilient(() => {
    calls++;
    return Promise.reject(new TypeError("fetch failed"));
  }, { retry: { idempotent: true, attempts: 10, budgetMs: 60_000 }, breaker, clock });
  await assert.rejects(drive(clock, run), CircuitOpenError);
  assert.equal(calls, 2);
});

Deno.test("resilient() never outlives the request deadline", async () => {
  const clock = new FakeClock();
  const deadline = Deadline.after(3000, { clock });
  let calls = 0;
  const run = resilient(() => {
    calls++;
    return Promise.reject(Object.assign(new Error("busy"), { status: 503 }));
  }, {
    retry: { idempotent: true, attempts: 100, baseDelayMs: 1000, jitter: "none" },
    deadline,
    clock,
  });
  await assert.rejects(
    drive(clock, run, { stepMs: 100 }),
    (e) => e instanceof DeadlineExceededError || (e as { status?: number }).status === 503,
  );
  assert.ok(clock.now() - (deadline.expiresAt - 3000) <= 3000);
  assert.ok(calls >= 2 && calls <= 3, `calls ${calls}`);
  deadline.dispose();
});

Deno.test("resilient() runs a non-idempotent call exactly once", async () => {
  let calls = 0;
  await assert.rejects(
    resilient(() => {
      calls++;
      return Promise.reject(new TypeError("fetch failed"));
    }, { timeout: 1000 }),
  );
  assert.equal(calls, 1);
});
