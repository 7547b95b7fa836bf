import assert from "node:assert/strict";
import { requestDelivery } from "./request_delivery.ts";

Deno.test("requestDelivery() posts to the notifications function with the service key", async () => {
  const calls: { url: string; init: RequestInit }[] = [];
  const env = new Map([["SUPABASE_URL", "http://127.0.0.1:54321/"], [
    "SUPABASE_SERVICE_ROLE_KEY",
    "svc",
  ]]);
  await requestDelivery({
    env: { get: (k) => env.get(k) },
    fetch: (url, init) => {
      calls.push({ url: String(url), init: init! });
      return Promise.resolve(new Response("{}"));
    },
  });
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, "http://127.0.0.1:54321/functions/v1/notifications/deliver");
  assert.equal(new Headers(calls[0].init.headers).get("authorization"), "Bearer svc");
});

Deno.test("requestDelivery() does nothing unconfigured and never rejects", async () => {
  assert.equal(requestDelivery({ env: { get: () => undefined } }), undefined);
  const env = new Map([["SUPABASE_URL", "http://127.0.0.1:9"], [
    "SUPABASE_SERVICE_ROLE_KEY",
    "svc",
  ]]);
  await requestDelivery({
    env: { get: (k) => env.get(k) },
    fetch: () => Promise.reject(new TypeError("down")),
  });
});

Deno.test("requestDelivery() leaves delivery to the schedule when turned off", () => {
  const env = new Map([
    ["SUPABASE_URL", "http://127.0.0.1:54321"],
    ["SUPABASE_SERVICE_ROLE_KEY", "svc"],
    ["COMPTOIR_NOTIFY_DELIVER_ON_ENQUEUE", "off"],
  ]);
  let called = false;
  const result = requestDelivery({
    env: { get: (k) => env.get(k) },
    fetch: () => {
      called = true;
      return Promise.resolve(new Response("{}"));
    },
  });
  assert.equal(result, undefined);
  assert.equal(called, false);
});
