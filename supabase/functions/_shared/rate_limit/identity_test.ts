import assert from "node:assert/strict";
import {
  clientAddress,
  hashApiKey,
  identityKey,
  normalizeAddress,
  unknownIdentityKey,
} from "./identity.ts";

Deno.test("clientAddress() ignores forwarding headers without a trusted proxy", () => {
  const headers = new Headers({ "x-forwarded-for": "1.2.3.4", "x-real-ip": "5.6.7.8" });
  assert.equal(clientAddress(headers, { connectionAddress: "192.0.2.10" }), "192.0.2.10");
  assert.equal(clientAddress(headers), null);
});

Deno.test("clientAddress() takes the entry the trusted proxy appended, not the client's", () => {
  const spoofed = new Headers({ "x-forwarded-for": "6.6.6.6, 203.0.113.7" });
  assert.equal(clientAddress(spoofed, { trustedProxies: 1 }), "203.0.113.7");
  const twoHops = new Headers({ "x-forwarded-for": "6.6.6.6, 203.0.113.7, 10.0.0.1" });
  assert.equal(clientAddress(twoHops, { trustedProxies: 2 }), "203.0.113.7");
});

Deno.test("clientAddress() behind a proxy is unknown rather than a header the client chose", () => {
  const proxied = { trustedProxies: 1, connectionAddress: "10.0.0.1" };
  // X-Real-IP is the client's word, the proxy's peer is the proxy itself.
  assert.equal(clientAddress(new Headers({ "x-real-ip": "198.51.100.4" }), proxied), null);
  assert.equal(clientAddress(new Headers(), proxied), null);
  assert.equal(clientAddress(new Headers({ "x-forwarded-for": "not-an-ip" }), proxied), null);
  // One hop where two proxies should have appended: the entry is the client's.
  const short = new Headers({ "x-forwarded-for": "203.0.113.7" });
  assert.equal(clientAddress(short, { trustedProxies: 2 }), null);
  // A garbage hop does not fall back to the entry further left.
  const left = new Headers({ "x-forwarded-for": "203.0.113.7, garbage" });
  assert.equal(clientAddress(left, proxied), null);
  assert.equal(clientAddress(new Headers(), { connectionAddress: "not-an-ip" }), null);
});

Deno.test("normalizeAddress() strips ports and groups IPv6 by /64", () => {
  assert.equal(normalizeAddress("203.0.113.7:5555"), "203.0.113.7");
  assert.equal(normalizeAddress("::ffff:203.0.113.7"), "203.0.113.7");
  assert.equal(normalizeAddress("[2001:db8:1:2:aaaa::1]:443"), "2001:db8:1:2::/64");
  assert.equal(normalizeAddress("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  assert.equal(normalizeAddress("300.1.1.1"), null);
  assert.equal(normalizeAddress("1:2:3"), null);
});

Deno.test("hashApiKey() and identityKey() keep raw keys out of storage keys", async () => {
  const hashed = await hashApiKey("sk_live_secret");
  assert.match(hashed, /^[0-9a-f]{32}$/);
  assert.equal(hashed, await hashApiKey("sk_live_secret"));
  assert.notEqual(hashed, await hashApiKey("sk_live_other"));
  assert.equal(identityKey("api_key", hashed), `api_key:${hashed}`);
  assert.equal(unknownIdentityKey("user"), "unknown:user");
  assert.notEqual(unknownIdentityKey("ip"), identityKey("ip", "unknown"));
});
