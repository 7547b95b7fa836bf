import assert from "node:assert/strict";
import { fingerprint } from "./fingerprint.ts";

// Expected values computed by Prometheus's own Go code (prometheus/common model.LabelSet
// Fingerprint(), the hash Alertmanager prints in its webhook's `fingerprint` field).
Deno.test("fingerprint() matches Prometheus for an empty label set", () => {
  assert.equal(fingerprint({}), "cbf29ce484222325");
});

Deno.test("fingerprint() matches the vector of prometheus/common model/signature_test.go", () => {
  const labels = { name: "garland, briggs", fear: "love is not enough" };
  assert.equal(BigInt(`0x${fingerprint(labels)}`), 5799056148416392346n);
});

Deno.test("fingerprint() does not depend on label order", () => {
  assert.equal(
    fingerprint({ alertname: "OrderDrop", severity: "critical", team: "business" }),
    fingerprint({ team: "business", severity: "critical", alertname: "OrderDrop" }),
  );
});

Deno.test("fingerprint() separates names from values", () => {
  assert.notEqual(fingerprint({ ab: "c" }), fingerprint({ a: "bc" }));
  assert.match(fingerprint({ alertname: "X" }), /^[0-9a-f]{16}$/);
});
