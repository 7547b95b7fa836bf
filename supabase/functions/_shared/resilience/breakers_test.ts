import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { breakerStoreFor, logBreakerEvent } from "./breakers.ts";

Deno.test("breakerStoreFor() shares state through Redis when Upstash is configured", () => {
  assert.equal(breakerStoreFor(null).kind, "memory");
  const redis = new Redis({ url: "http://127.0.0.1:1", token: "t", enableTelemetry: false });
  assert.equal(breakerStoreFor({ redis, origin: "http://127.0.0.1:1" }).kind, "upstash");
});

Deno.test("logBreakerEvent() writes one JSON line, a warning when a breaker opens", () => {
  const lines: Array<[string, string]> = [];
  const { warn, info } = console;
  console.warn = (line: string) => lines.push(["warn", line]);
  console.info = (line: string) => lines.push(["info", line]);
  try {
    const at = Date.UTC(2026, 10, 26, 12);
    logBreakerEvent({
      breaker: "database",
      from: "closed",
      to: "open",
      reason: "consecutive_failures",
      at,
      source: "local",
    });
    logBreakerEvent({
      breaker: "database",
      from: "half_open",
      to: "closed",
      reason: "probes_succeeded",
      at,
      source: "shared",
    });
  } finally {
    console.warn = warn;
    console.info = info;
  }
  assert.equal(lines.length, 2);
  assert.equal(lines[0][0], "warn");
  assert.deepEqual(JSON.parse(lines[0][1]), {
    level: "warn",
    msg: "circuit breaker state changed",
    breaker: "database",
    from: "closed",
    to: "open",
    reason: "consecutive_failures",
    source: "local",
    at: "2026-11-26T12:00:00.000Z",
  });
  assert.equal(lines[1][0], "info");
  assert.equal(JSON.parse(lines[1][1]).source, "shared");
});
