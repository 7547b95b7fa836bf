/**
 * Two breaker instances on one Redis (through the Upstash proxy) behave as two isolates of one
 * function: they trip, probe and heal together.
 */
import assert from "node:assert/strict";
import { FakeClock } from "@shared/clock.ts";
import { UpstashBreakerStore } from "@shared/resilience/breaker_store_upstash.ts";
import { type BreakerEvent, CircuitBreaker } from "@shared/resilience/circuit_breaker.ts";
import { CircuitOpenError } from "@shared/resilience/errors.ts";
import { testRedis, uniqueName, upstashClient } from "./support.ts";
import { waitFor } from "../_support/wait.ts";

const failing = () => Promise.reject(new TypeError("fetch failed"));
const ok = () => Promise.resolve("ok");

Deno.test("breakers of two isolates share state through Redis", async (t) => {
  const local = await testRedis();
  try {
    const clock = new FakeClock();
    const store = new UpstashBreakerStore(upstashClient(local));
    const name = uniqueName("payments");
    const logs: Record<string, unknown>[] = [];
    const options = {
      store,
      clock,
      failureThreshold: 3,
      openMs: 10_000,
      halfOpenProbes: 1,
      cacheTtlMs: 0,
      log: (r: Record<string, unknown>) => logs.push(r),
    };
    const isolateA = new CircuitBreaker(name, options);
    const isolateB = new CircuitBreaker(name, options);
    const eventsB: BreakerEvent[] = [];
    isolateB.subscribe((e) => eventsB.push(e));

    await t.step(
      "failures seen by both isolates add up and open the breaker for both",
      async () => {
        await assert.rejects(isolateA.execute(failing));
        await assert.rejects(isolateB.execute(failing));
        await assert.rejects(isolateA.execute(failing));
        assert.equal(isolateA.status, "open");
        let called = false;
        await assert.rejects(
          isolateB.execute(() => {
            called = true;
            return ok();
          }),
          (e) => e instanceof CircuitOpenError && e.retryAfterMs === 10_000,
        );
        assert.equal(called, false);
        assert.deepEqual(eventsB.map((e) => [e.to, e.source]), [["open", "shared"]]);
      },
    );

    await t.step("after the pause only one probe runs across both isolates", async () => {
      await clock.advance(10_000);
      let release!: () => void;
      const probeGate = new Promise<void>((resolve) => release = resolve);
      let probes = 0;
      const probe = () => {
        probes++;
        return probeGate.then(() => "probe ok");
      };
      const outcomes = [isolateA, isolateB, isolateA, isolateB].map((breaker) =>
        breaker.execute(probe).then((value) => value, (error) => error)
      );
      let refused = 0;
      for (const o of outcomes) o.then((v) => v instanceof CircuitOpenError && refused++);
      await waitFor(
        "the three calls beside the probe to be refused",
        () => refused === 3 ? true : undefined,
        { timeoutMs: 10_000, intervalMs: 10 },
      );
      // While the probe is held: three refusals, one call in flight.
      assert.equal(refused, 3);
      assert.equal(probes, 1);
      release();
      const results = await Promise.all(outcomes);
      assert.equal(results.filter((r) => r === "probe ok").length, 1);
      assert.equal(results.filter((r) => r instanceof CircuitOpenError).length, 3);
    });

    await t.step("the probe's success closes the breaker for the other isolate too", async () => {
      assert.equal(await isolateB.execute(ok), "ok");
      assert.equal(isolateB.status, "closed");
      assert.equal(eventsB.at(-1)?.to, "closed");
    });

    await t.step(
      "with Redis down each isolate goes on alone, and shares again once it is back",
      async () => {
        await local.stopRedis();
        assert.equal(await isolateA.execute(ok), "ok");
        for (let i = 0; i < 3; i++) await assert.rejects(isolateA.execute(failing));
        assert.equal(isolateA.status, "open");
        await assert.rejects(isolateA.execute(ok), CircuitOpenError);
        assert.ok(
          logs.some((l) => l.msg === "circuit breaker store unavailable; using local state"),
        );

        await local.startRedis();
        // The fresh Redis holds no state: both isolates read "closed" and agree again.
        assert.equal(await isolateA.execute(ok), "ok");
        assert.equal(await isolateB.execute(ok), "ok");
        assert.ok(logs.some((l) => l.msg === "circuit breaker store reachable again"));
      },
    );
  } finally {
    await local.stop();
  }
});
