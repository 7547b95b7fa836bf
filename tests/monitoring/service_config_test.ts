import assert from "node:assert/strict";
import { renderAlertmanagerConfig, secretFilesOf } from "../../scripts/lib/alertmanager.ts";
import { renderConfigTemplate } from "../../scripts/lib/prometheus.ts";

Deno.test("renderConfigTemplate() writes JSON values and refuses unknown placeholders", () => {
  assert.equal(
    renderConfigTemplate("a: ${A}\nb: ${B_2}\n", { A: "1s", B_2: ["127.0.0.1:1", "x"] }),
    'a: "1s"\nb: ["127.0.0.1:1","x"]\n',
  );
  assert.throws(() => renderConfigTemplate("a: ${MISSING}", {}), RangeError);
});

Deno.test("renderAlertmanagerConfig() moves secrets, replaces PagerDuty and shortens timers", () => {
  const config = [
    "global:",
    "  pagerduty_url: https://events.pagerduty.com/v2/enqueue",
    "route:",
    "  group_wait: 30s",
    "  routes:",
    "    - group_interval: 5m",
    "      repeat_interval: 4h",
    "receivers:",
    "  - api_url_file: /etc/alertmanager/secrets/slack_a",
    "    routing_key_file: /etc/alertmanager/secrets/pd",
    "",
  ].join("\n");
  assert.deepEqual(secretFilesOf(config), ["pd", "slack_a"]);
  assert.equal(
    renderAlertmanagerConfig(config, {
      secretsDir: "/tmp/x/secrets",
      pagerdutyUrl: "http://127.0.0.1:9/pd",
      fastTimers: true,
    }),
    [
      "global:",
      '  pagerduty_url: "http://127.0.0.1:9/pd"',
      "route:",
      "  group_wait: 1s",
      "  routes:",
      "    - group_interval: 1s",
      "      repeat_interval: 4h",
      "receivers:",
      "  - api_url_file: /tmp/x/secrets/slack_a",
      "    routing_key_file: /tmp/x/secrets/pd",
      "",
    ].join("\n"),
  );
  assert.equal(renderAlertmanagerConfig(config, { secretsDir: "/s/" }).includes("30s"), true);
});
