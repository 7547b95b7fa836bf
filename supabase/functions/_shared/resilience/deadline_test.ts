import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { Deadline, timeoutSignal, withTimeout } from "./deadline.ts";
import { DeadlineExceededError, TimeoutError } from "./errors.ts";

/** A call that only ends when its signal aborts, and says whether it saw the abort. */
function hang(seen: { aborted: boolean }) {
  return (signal: AbortSignal) =>
    new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => {
        seen.aborted = true;
        reject(new DOMException("aborted", "AbortError"));
      });
    });
}

Deno.test("withTimeout() rejects with TimeoutError and aborts the call's signal", async () => {
  const clock = new FakeClock();
  const seen = { aborted: false };
  const run = assert.rejects(
    withTimeout(hang(seen), { timeoutMs: 500, clock }),
    (e) => e instanceof TimeoutError && e.timeoutMs === 500,
  );
  await clock.advance(499);
  assert.equal(seen.aborted, false);
  await clock.advance(1);
  await run;
  assert.equal(seen.aborted, true);
});

Deno.test("withTimeout() settles even when the call ignores its signal", async () => {
  const clock = new FakeClock();
  const run = assert.rejects(
    withTimeout(() => new Promise<never>(() => {}), { timeoutMs: 100, clock }),
    TimeoutError,
  );
  await clock.advance(100);
  await run;
});

Deno.test("withTimeout() gives a child min(remaining deadline, own timeout)", async () => {
  const clock = new FakeClock();
  const deadline = Deadline.after(1000, { clock });
  await clock.advance(400);
  const seen = { aborted: false };
  // Own timeout 5 s, but only 600 ms of the request are left: the deadline wins.
  const long = assert.rejects(
    withTimeout(hang(seen), { timeoutMs: 5000, deadline, clock }),
    DeadlineExceededError,
  );
  await clock.advance(599);
  assert.equal(seen.aborted, false);
  await clock.advance(1);
  await long;
  assert.equal(seen.aborted, true);
  deadline.dispose();

  const roomy = Deadline.after(10_000, { clock });
  const short = assert.rejects(
    withTimeout(hang({ aborted: false }), { timeoutMs: 300, deadline: roomy, clock }),
    TimeoutError,
  );
  await clock.advance(300);
  await short;
  assert.equal(roomy.expired, false);
  roomy.dispose();
});

Deno.test("withTimeout() refuses to start once the deadline has passed", async () => {
  const clock = new FakeClock();
  const deadline = Deadline.after(100, { clock });
  await clock.advance(100);
  let started = false;
  await assert.rejects(
    withTimeout(() => {
      started = true;
      return Promise.resolve(1);
    }, { deadline, clock }),
    DeadlineExceededError,
  );
  assert.equal(started, false);
});

Deno.test("withTimeout() disarms its timer when the call finishes first", async () => {
  const clock = new FakeClock();
  assert.equal(await withTimeout(() => Promise.resolve(42), { timeoutMs: 1000, clock }), 42);
  await clock.advance(0);
  assert.equal(clock.pendingSleeps, 0);
});

Deno.test("Deadline aborts early when its parent signal aborts", () => {
  const controller = new AbortController();
  const deadline = Deadline.after(60_000, { clock: new FakeClock(), signal: controller.signal });
  controller.abort(new Error("client disconnected"));
  assert.equal(deadline.expired, true);
  assert.throws(() => deadline.throwIfExpired(), /client disconnected/);
  deadline.dispose();
});

Deno.test("timeoutSignal() aborts a real fetch and the server sees the request cancelled", async () => {
  let serverSawAbort!: () => void;
  const aborted = new Promise<void>((resolve) => serverSawAbort = resolve);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    (req) =>
      new Promise<Response>((resolve) => {
        req.signal.addEventListener("abort", () => {
          serverSawAbort();
          resolve(new Response(null));
        });
      }),
  );
  try {
    const started = performance.now();
    await assert.rejects(
      withTimeout(
        (signal) => fetch(`http://127.0.0.1:${server.addr.port}/slow`, { signal }),
        { timeoutMs: 150 },
      ),
      TimeoutError,
    );
    assert.ok(performance.now() - started < 2000);
    await aborted;
  } finally {
    await server.shutdown();
  }
  const { signal, dispose } = timeoutSignal(10_000);
  dispose();
  assert.equal(signal.aborted, false);
});
