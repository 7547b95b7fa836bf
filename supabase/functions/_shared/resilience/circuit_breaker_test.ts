import assert from "node:assert/strict";
import { FakeClock } from "../clock.ts";
import { type BreakerEvent, CircuitBreaker } from "./circuit_breaker.ts";
import { MemoryBreakerStore } from "./breaker_store.ts";
import { CircuitOpenError } from "./errors.ts";

const transient = () => Promise.reject(Object.assign(new Error("503"), { status: 503 }));
const ok = () => Promise.resolve("ok");

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await assert.rejects(breaker.execute(transient));
}

function silent() {
  return { log: () => {} };
}

Deno.test("CircuitBreaker opens after N consecutive failures and fails fast", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("db", { failureThreshold: 3, openMs: 10_000, clock });
  await failTimes(breaker, 2);
  assert.equal(breaker.status, "closed");
  await assert.rejects(breaker.execute(transient));
  assert.equal(breaker.status, "open");

  let called = false;
  await clock.advance(4000);
  await assert.rejects(
    breaker.execute(() => {
      called = true;
      return ok();
    }),
    (e) => e instanceof CircuitOpenError && e.retryAfterMs === 6000 && e.dependency === "db",
  );
  assert.equal(called, false);
});

Deno.test("CircuitBreaker resets the consecutive count on success", async () => {
  const breaker = new CircuitBreaker("db", { failureThreshold: 3, clock: new FakeClock() });
  await failTimes(breaker, 2);
  await breaker.execute(ok);
  await failTimes(breaker, 2);
  assert.equal(breaker.status, "closed");
});

Deno.test("CircuitBreaker opens on the error rate once the minimum volume is reached", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("api", {
    failureThreshold: 100,
    errorRateThreshold: 0.5,
    minimumRequests: 10,
    windowMs: 10_000,
    clock,
  });
  // Alternate so there is never a run of failures: 4 ok + 4 failed = 50% of 8 calls, below volume.
  for (let i = 0; i < 4; i++) {
    await breaker.execute(ok);
    await assert.rejects(breaker.execute(transient));
  }
  assert.equal(breaker.status, "closed");
  await breaker.execute(ok);
  await assert.rejects(breaker.execute(transient));
  assert.equal(breaker.status, "open");
  assert.equal((await breaker.snapshot()).reason, "error_rate");
});

Deno.test("CircuitBreaker forgets failures that left the rolling window", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("api", {
    failureThreshold: 100,
    errorRateThreshold: 0.5,
    minimumRequests: 4,
    windowMs: 10_000,
    buckets: 10,
    clock,
  });
  await failTimes(breaker, 2);
  await breaker.execute(ok);
  await clock.advance(11_000);
  // Counting the old calls too would make 3 failures of 5 (60%) and open the breaker.
  await breaker.execute(ok);
  await failTimes(breaker, 1);
  assert.equal(breaker.status, "closed");
});

Deno.test("CircuitBreaker ignores failures a retry would not fix", async () => {
  const breaker = new CircuitBreaker("api", { failureThreshold: 2, clock: new FakeClock() });
  for (let i = 0; i < 5; i++) {
    await assert.rejects(
      breaker.execute(() => Promise.reject(Object.assign(new Error(), { status: 404 }))),
    );
  }
  assert.equal(breaker.status, "closed");
});

Deno.test("CircuitBreaker counts a 5xx Response as a failure but returns it", async () => {
  const breaker = new CircuitBreaker("api", { failureThreshold: 2, clock: new FakeClock() });
  const res = await breaker.execute(() => Promise.resolve(new Response(null, { status: 502 })));
  assert.equal(res.status, 502);
  await breaker.execute(() => Promise.resolve(new Response(null, { status: 503 })));
  assert.equal(breaker.status, "open");
});

Deno.test("CircuitBreaker half-open admits only the configured probes", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("pay", {
    failureThreshold: 1,
    openMs: 5000,
    halfOpenProbes: 2,
    clock,
  });
  await failTimes(breaker, 1);
  await clock.advance(5000);

  const releases: (() => void)[] = [];
  const slow = () => new Promise<string>((resolve) => releases.push(() => resolve("probe")));
  const first = breaker.execute(slow);
  const second = breaker.execute(slow);
  await clock.advance(0);
  assert.equal(breaker.status, "half_open");
  await assert.rejects(breaker.execute(ok), CircuitOpenError);
  assert.equal(releases.length, 2);

  releases[0]();
  assert.equal(await first, "probe");
  assert.equal(breaker.status, "half_open");
  // One success of two: the slot is not handed out again until the breaker decides.
  await assert.rejects(breaker.execute(ok), CircuitOpenError);
  releases[1]();
  await second;
  assert.equal(breaker.status, "closed");
  assert.equal(await breaker.execute(ok), "ok");
});

Deno.test("CircuitBreaker reopens when a probe fails", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("pay", { failureThreshold: 1, openMs: 5000, clock });
  await failTimes(breaker, 1);
  await clock.advance(5000);
  await assert.rejects(breaker.execute(transient), /503/);
  assert.equal(breaker.status, "open");
  await assert.rejects(
    breaker.execute(ok),
    (e) => e instanceof CircuitOpenError && e.retryAfterMs === 5000,
  );
});

Deno.test("CircuitBreaker frees a probe slot whose result never came", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("pay", {
    failureThreshold: 1,
    openMs: 1000,
    probeTimeoutMs: 3000,
    clock,
  });
  await failTimes(breaker, 1);
  await clock.advance(1000);
  breaker.execute(() => new Promise<never>(() => {})); // lost probe
  await clock.advance(0);
  await assert.rejects(breaker.execute(ok), CircuitOpenError);
  await clock.advance(3000);
  assert.equal(await breaker.execute(ok), "ok");
  assert.equal(breaker.status, "closed");
});

Deno.test("CircuitBreaker publishes state changes", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("mail", { failureThreshold: 1, openMs: 1000, clock });
  const events: BreakerEvent[] = [];
  breaker.subscribe((e) => events.push(e));
  await failTimes(breaker, 1);
  await clock.advance(1000);
  await breaker.execute(ok);
  assert.deepEqual(events.map((e) => [e.from, e.to, e.reason, e.source]), [
    ["closed", "open", "consecutive_failures", "local"],
    ["open", "half_open", "half_open", "local"],
    ["half_open", "closed", "probes_succeeded", "local"],
  ]);
});

Deno.test("CircuitBreaker instances sharing a store agree on the state", async () => {
  const clock = new FakeClock();
  const store = new MemoryBreakerStore();
  const options = { store, clock, failureThreshold: 2, openMs: 10_000, cacheTtlMs: 500 };
  const a = new CircuitBreaker("db", options);
  const b = new CircuitBreaker("db", options);
  await b.execute(ok);
  await failTimes(a, 2);
  assert.equal(a.status, "open");
  await clock.advance(500);
  const events: BreakerEvent[] = [];
  b.subscribe((e) => events.push(e));
  await assert.rejects(b.execute(ok), CircuitOpenError);
  assert.deepEqual(events.map((e) => [e.to, e.source]), [["open", "shared"]]);
});

Deno.test("CircuitBreaker state survives a JSON round trip through the store", async () => {
  const store = new MemoryBreakerStore();
  const clock = new FakeClock();
  const a = new CircuitBreaker("x", { store, clock, failureThreshold: 1, ...silent() });
  await failTimes(a, 1);
  const snapshot = await a.snapshot();
  assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
  assert.equal(snapshot.status, "open");
  assert.equal(snapshot.openUntil, clock.now() + 30_000);
});

Deno.test("CircuitBreaker keeps working on local state when its store fails", async () => {
  const logs: Record<string, unknown>[] = [];
  const broken = {
    kind: "broken",
    load: () => Promise.reject(new Error("store down")),
    compareAndSet: () => Promise.reject(new Error("store down")),
  };
  const breaker = new CircuitBreaker("db", {
    store: broken,
    clock: new FakeClock(),
    failureThreshold: 2,
    log: (r) => logs.push(r),
  });
  assert.equal(await breaker.execute(ok), "ok");
  await failTimes(breaker, 2);
  assert.equal(breaker.status, "open");
  await assert.rejects(breaker.execute(ok), CircuitOpenError);
  assert.equal(logs.length, 1);
  assert.equal(logs[0].msg, "circuit breaker store unavailable; using local state");
});

Deno.test("CircuitBreaker tells callers refused during a probe to retry after one open period", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("pay", {
    failureThreshold: 1,
    openMs: 2000,
    probeTimeoutMs: 10_000,
    clock,
  });
  await failTimes(breaker, 1);
  await clock.advance(2000);
  let release = () => {};
  const probe = breaker.execute(() => new Promise<string>((r) => release = () => r("ok")));
  await clock.advance(0);
  await assert.rejects(
    breaker.execute(ok),
    (e) => e instanceof CircuitOpenError && e.retryAfterMs === 2000,
  );
  release();
  assert.equal(await probe, "ok");
  assert.equal(breaker.status, "closed");
});

Deno.test("CircuitBreaker.refusalMs() reports an open breaker without taking the probe", async () => {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker("db", { failureThreshold: 1, openMs: 4000, clock });
  assert.equal(await breaker.refusalMs(), 0);
  await failTimes(breaker, 1);
  await clock.advance(1000);
  assert.equal(await breaker.refusalMs(), 3000);
  await clock.advance(3000);
  // A probe would be admitted now; asking takes nothing, so the next call is that probe.
  assert.equal(await breaker.refusalMs(), 0);
  assert.equal(breaker.status, "open");
  assert.equal(await breaker.execute(ok), "ok");
  assert.equal(breaker.status, "closed");
});
