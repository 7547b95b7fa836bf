import assert from "node:assert/strict";
import { addressKind, checkTargetUrl, TargetNotAllowedError } from "./target_url.ts";

Deno.test("addressKind() tells loopback, private and link-local addresses, v4 and v6", () => {
  const cases: [string, string | undefined][] = [
    ["127.0.0.1", "loopback"],
    ["10.0.0.8", "private"],
    ["172.20.1.1", "private"],
    ["172.32.1.1", "public"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "link_local"],
    ["100.64.0.1", "private"],
    ["0.0.0.0", "private"],
    ["8.8.8.8", "public"],
    ["::1", "loopback"],
    ["::", "private"],
    ["fd00::1", "private"],
    ["fe80::1", "link_local"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["2001:db8::1", "public"],
    ["hooks.slack.com", undefined],
  ];
  for (const [value, kind] of cases) {
    assert.equal(addressKind(value), kind, value);
  }
});

Deno.test("checkTargetUrl() refuses private targets and plain http unless allowed", async () => {
  const publicDns = () => Promise.resolve(["203.0.113.10"]);
  const privateDns = () => Promise.resolve(["203.0.113.10", "10.1.2.3"]);
  await checkTargetUrl("https://hooks.example.com/x", { resolve: publicDns });
  const refused = [
    ["http://hooks.example.com/x", publicDns, /https/],
    ["https://hooks.example.com/x", privateDns, /private address/],
    ["https://127.0.0.1/x", publicDns, /loopback/],
    ["https://[::1]:8443/x", publicDns, /loopback/],
    ["https://localhost/x", publicDns, /loopback/],
    ["https://169.254.169.254/latest/meta-data", publicDns, /link-local/],
    ["https://user:pw@hooks.example.com/", publicDns, /credentials/],
    ["ftp://hooks.example.com/", publicDns, /scheme/],
    ["not a url", publicDns, /valid URL/],
  ] as const;
  for (const [url, resolve, message] of refused) {
    await assert.rejects(checkTargetUrl(url, { resolve }), (e: Error) => {
      assert.ok(e instanceof TargetNotAllowedError, url);
      assert.match(e.message, message, url);
      return true;
    });
  }
  await checkTargetUrl("http://127.0.0.1:8080/x", { allow: ["loopback"] });
  await checkTargetUrl("https://hooks.example.com/x", {
    allow: ["private"],
    resolve: privateDns,
  });
  await assert.rejects(
    checkTargetUrl("http://10.0.0.1/x", { allow: ["loopback"] }),
    TargetNotAllowedError,
  );
});
