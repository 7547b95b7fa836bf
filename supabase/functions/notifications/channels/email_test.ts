import assert from "node:assert/strict";
import { emailParts, escapeHtml, outcomeOfResend } from "./email.ts";

Deno.test("emailParts() escapes every value in the HTML part and keeps the text part as written", () => {
  const parts = emailParts({
    title: `Order <1> & "co"`,
    intro: "line 1\nline <2>",
    sections: [{
      heading: "H",
      text: "<script>x</script>",
      fields: [["a'b", "<c>"]],
    }],
    links: [{ label: "see", url: 'https://e.example/?a=1&b="2"' }],
    footer: "bye",
  });
  assert.equal(parts.subject, `Order <1> & "co"`);
  assert.ok(parts.html.includes("Order &lt;1&gt; &amp; &quot;co&quot;"));
  assert.ok(parts.html.includes("line 1<br>line &lt;2&gt;"));
  assert.ok(!parts.html.includes("<script>"));
  assert.ok(
    parts.html.includes('href="https://e.example/?a=1&amp;b=&quot;2&quot;"'),
  );
  assert.ok(parts.text.includes("<script>x</script>"));
  assert.ok(parts.text.includes("a'b: <c>"));
  assert.equal(escapeHtml(`'`), "&#39;");
});

Deno.test("outcomeOfResend() retries 429 and 5xx with Retry-After and gives up on other 4xx", () => {
  const now = Date.UTC(2026, 0, 1);
  assert.deepEqual(outcomeOfResend({ error: null, headers: {} }, now), {
    kind: "delivered",
    status: 200,
  });
  assert.deepEqual(
    outcomeOfResend({
      error: {
        statusCode: 429,
        name: "rate_limit_exceeded",
        message: "slow down",
      },
      headers: { "retry-after": "2" },
    }, now),
    {
      kind: "retry",
      error: "http 429: rate_limit_exceeded slow down",
      status: 429,
      retryAfterMs: 2000,
    },
  );
  assert.equal(
    outcomeOfResend({ error: { name: "application_error" }, headers: {} }, now)
      .kind,
    "retry",
  );
  assert.equal(
    outcomeOfResend({
      error: { statusCode: null, name: "application_error" },
      headers: null,
    }, now)
      .kind,
    "retry",
  );
  const refused = outcomeOfResend({
    error: {
      statusCode: 422,
      name: "validation_error",
      message: "see https://resend.com/docs",
    },
    headers: {},
  }, now);
  assert.equal(refused.kind, "permanent");
  assert.ok(
    !("error" in refused && refused.error.includes("https://")),
    "URLs are not kept",
  );
  assert.equal(
    outcomeOfResend({ error: { name: "invalid_api_key" }, headers: {} }, now)
      .kind,
    "permanent",
  );
  assert.equal(
    outcomeOfResend({
      error: { statusCode: 409, name: "concurrent_idempotent_requests" },
      headers: {},
    }, now).kind,
    "retry",
  );
});
