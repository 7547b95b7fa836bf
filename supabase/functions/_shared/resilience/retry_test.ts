import assert from "node:assert/strict";
import fc from "fast-check";
import { FakeClock } from "../clock.ts";
import { retry, type RetryEvent } from "./retry.ts";
import { drive } from "./test_support.ts";

function unavailable(): Error {
  return Object.assign(new Error("upstream 503"), { status: 503 });
}

Deno.test("retry() retries a transient failure and returns the success", async () => {
  const clock = new FakeClock();
  let calls = 0;
  const result = await drive(
    clock,
    retry(() => {
      calls++;
      return calls < 3 ? Promise.reject(unavailable()) : Promise.resolve("ok");
    }, { idempotent: true, attempts: 5, clock }),
  );
  assert.equal(result, "ok");
  assert.equal(calls, 3);
});

Deno.test("retry() stops after the attempt budget and throws the last error", async () => {
  const clock = new FakeClock();
  const errors: Error[] = [];
  const run = retry(() => {
    const error = unavailable();
    errors.push(error);
    return Promise.reject(error);
  }, { idempotent: true, attempts: 4, clock });
  await assert.rejects(drive(clock, run), (e) => e === errors[3]);
  assert.equal(errors.length, 4);
});

Deno.test("retry() never retries a non-retryable error", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.integer({ min: 400, max: 499 }).filter((s) => s !== 408 && s !== 429).map((status) =>
          Object.assign(new Error("client error"), { status })
        ),
        fc.constantFrom("23505", "23503", "22P02", "42501", "P0001").map((code) =>
          Object.assign(new Error("pg"), { name: "PostgresError", code, severity: "ERROR" })
        ),
        fc.string().map((message) => new Error(message)),
      ),
      async (error) => {
        const clock = new FakeClock();
        let calls = 0;
        await assert.rejects(
          retry(() => {
            calls++;
            return Promise.reject(error);
          }, { idempotent: true, attempts: 5, clock }),
          (e) => e === error,
        );
        assert.equal(calls, 1);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("retry() does not repeat a call that is not marked idempotent", async () => {
  let calls = 0;
  await assert.rejects(
    retry(() => {
      calls++;
      return Promise.reject(unavailable());
    }, { attempts: 5 }),
  );
  assert.equal(calls, 1);
});

Deno.test("retry() waits as long as Retry-After asks, in seconds or as a date", async () => {
  const clock = new FakeClock();
  const calledAt: number[] = [];
  const result = await drive(
    clock,
    retry(() => {
      calledAt.push(clock.now());
      if (calledAt.length === 1) {
        return Promise.resolve(
          new Response(null, { status: 503, headers: { "retry-after": "3" } }),
        );
      }
      if (calledAt.length === 2) {
        const at = new Date(clock.now() + 7000).toUTCString();
        return Promise.reject(
          Object.assign(new Error("limited"), { status: 429, headers: { "retry-after": at } }),
        );
      }
      return Promise.resolve(new Response("ok"));
    }, { idempotent: true, attempts: 3, baseDelayMs: 10, maxDelayMs: 20, clock }),
    { stepMs: 100 },
  );
  assert.equal(result.status, 200);
  assert.ok(calledAt[1] - calledAt[0] >= 3000 && calledAt[1] - calledAt[0] <= 3020);
  assert.ok(calledAt[2] - calledAt[1] >= 7000 - 999 && calledAt[2] - calledAt[1] <= 7020);
});

Deno.test("retry() gives up when the wait would pass the time budget", async () => {
  const clock = new FakeClock();
  let calls = 0;
  const response = await retry(() => {
    calls++;
    return Promise.resolve(new Response(null, { status: 503, headers: { "retry-after": "60" } }));
  }, { idempotent: true, attempts: 5, budgetMs: 10_000, clock });
  assert.equal(calls, 1);
  assert.equal(response.status, 503);
});

Deno.test("retry() returns the last retryable response when attempts run out", async () => {
  const clock = new FakeClock();
  let calls = 0;
  const response = await drive(
    clock,
    retry(() => {
      calls++;
      return Promise.resolve(new Response(`try ${calls}`, { status: 502 }));
    }, { idempotent: true, attempts: 3, clock }),
  );
  assert.equal(calls, 3);
  assert.equal(await response.text(), "try 3");
});

Deno.test("retry() stops waiting when the signal aborts", async () => {
  const clock = new FakeClock();
  const controller = new AbortController();
  let calls = 0;
  const run = retry(() => {
    calls++;
    return Promise.reject(unavailable());
  }, {
    idempotent: true,
    attempts: 5,
    baseDelayMs: 1000,
    jitter: "none",
    clock,
    signal: controller.signal,
  });
  await clock.waitForSleepers(1);
  controller.abort(new Error("client went away"));
  await assert.rejects(run, /client went away/);
  await clock.advance(60_000);
  assert.equal(calls, 1);
  assert.equal(clock.pendingSleeps, 0);
});

Deno.test("retry() keeps jittered delays within their bounds", async () => {
  for (const jitter of ["full", "decorrelated"] as const) {
    const clock = new FakeClock();
    const events: RetryEvent[] = [];
    await assert.rejects(drive(
      clock,
      retry(() => Promise.reject(unavailable()), {
        idempotent: true,
        attempts: 8,
        budgetMs: 1_000_000,
        baseDelayMs: 100,
        maxDelayMs: 2000,
        jitter,
        clock,
        onRetry: (e) => events.push(e),
      }),
    ));
    assert.equal(events.length, 7);
    let previous = 0;
    for (const { attempt, delayMs } of events) {
      const upper = jitter === "full"
        ? Math.min(2000, 100 * 2 ** (attempt - 1))
        : Math.min(2000, Math.max(100, previous) * 3);
      const lower = jitter === "full" ? 0 : 100;
      assert.ok(delayMs >= lower && delayMs <= upper, `${jitter} #${attempt}: ${delayMs}`);
      previous = delayMs;
    }
  }
});
