import assert from "node:assert/strict";
import {
  recordCircuitBreakerTransition,
  recordOrderCreated,
  recordRateLimitDecision,
  recordRetries,
} from "./hooks.ts";
import { metricsPipeline } from "./pipeline.ts";

function drained(): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of metricsPipeline().registry.drain()) {
    out.set(`${s.name}{${s.labels}}${s.le ? ` le=${s.le}` : ""}`, s.value);
  }
  return out;
}

Deno.test("recordRateLimitDecision() maps the limiter's policy names to the contract's", () => {
  drained();
  recordRateLimitDecision({ policy: "public_read", outcome: "allowed", factor: 1 });
  recordRateLimitDecision({ policy: "checkout", outcome: "limited", factor: 0.5 });
  recordRateLimitDecision({ policy: "user_read", outcome: "fail_open" });
  const samples = drained();
  assert.equal(
    samples.get('comptoir_rate_limit_decisions_total{policy="anonymous",result="allowed"}'),
    1,
  );
  assert.equal(
    samples.get('comptoir_rate_limit_decisions_total{policy="checkout",result="limited"}'),
    1,
  );
  assert.equal(
    samples.get('comptoir_rate_limit_decisions_total{policy="authenticated",result="fail_open"}'),
    1,
  );
  assert.equal(samples.get('comptoir_rate_limit_adaptive_factor{policy="checkout"}'), 0.5);
});

Deno.test("recordCircuitBreakerTransition() counts local changes only and sets all three states", () => {
  drained();
  recordCircuitBreakerTransition({ breaker: "redis", from: "closed", to: "open", source: "local" });
  recordCircuitBreakerTransition({
    breaker: "redis",
    from: "closed",
    to: "open",
    source: "shared",
  });
  const samples = drained();
  assert.equal(
    samples.get(
      'comptoir_circuit_breaker_transitions_total{dependency="redis",from="closed",to="open"}',
    ),
    1,
  );
  assert.equal(samples.get('comptoir_circuit_breaker_state{dependency="redis",state="open"}'), 1);
  assert.equal(samples.get('comptoir_circuit_breaker_state{dependency="redis",state="closed"}'), 0);
  assert.equal(
    samples.get('comptoir_circuit_breaker_state{dependency="redis",state="half_open"}'),
    0,
  );
});

Deno.test("recordCircuitBreakerTransition() exports the database breaker as dependency postgres", () => {
  drained();
  recordCircuitBreakerTransition({ breaker: "database", from: "closed", to: "open" });
  const samples = drained();
  assert.equal(
    samples.get(
      'comptoir_circuit_breaker_transitions_total{dependency="postgres",from="closed",to="open"}',
    ),
    1,
  );
  assert.equal(
    samples.get('comptoir_circuit_breaker_state{dependency="postgres",state="open"}'),
    1,
  );
});

Deno.test("recordRetries() counts retries by dependency and outcome, and nothing for none", () => {
  drained();
  recordRetries("postgres", 2, "recovered");
  recordRetries("redis", 0, "failed");
  const samples = drained();
  assert.equal(
    samples.get('comptoir_retries_total{dependency="postgres",outcome="recovered"}'),
    2,
  );
  assert.equal(samples.has('comptoir_retries_total{dependency="redis",outcome="failed"}'), false);
});

Deno.test("recordOrderCreated() counts the order and observes its value by currency", () => {
  drained();
  recordOrderCreated({ currency: "eur", totalMinorUnits: 1250 });
  const samples = drained();
  assert.equal(samples.get("comptoir_orders_created_total{}"), 1);
  assert.equal(samples.get('comptoir_order_value_minor_units_bucket{currency="EUR"} le=1000'), 0);
  assert.equal(samples.get('comptoir_order_value_minor_units_bucket{currency="EUR"} le=2500'), 1);
  assert.equal(samples.get('comptoir_order_value_minor_units_sum{currency="EUR"}'), 1250);
});
