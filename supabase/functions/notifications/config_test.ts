import assert from "node:assert/strict";
import { parseNotificationsConfig } from "./config.ts";
import { TEMPLATES } from "./templates/registry.ts";

const base = {
  email: { from: "Comptoir <n@example.com>" },
  destinations: {
    slack: { ops: { url_env: "COMPTOIR_NOTIFY_SLACK_OPS_URL" } },
  },
  routes: [{
    name: "r",
    event: "stock.low",
    channel: "slack",
    destination: "ops",
    template: "stock.low",
  }],
};

Deno.test("parseNotificationsConfig() accepts the repository's configuration", async () => {
  const file = new URL("../../../config/notifications.json", import.meta.url);
  const config = parseNotificationsConfig(
    JSON.parse(await Deno.readTextFile(file)),
  );
  assert.ok(config.routes.length > 0);
  for (const route of config.routes) {
    assert.ok(TEMPLATES[route.template].channels.includes(route.channel));
  }
});

Deno.test("parseNotificationsConfig() names every field that breaks the schema", () => {
  const bad = {
    ...base,
    destinations: {
      slack: { ops: { url_env: "COMPTOIR_DB_URL" } },
      webhook: {
        hook: {
          url_env: "COMPTOIR_NOTIFY_X",
          secret_env: "COMPTOIR_NOTIFY_Y",
          allow_private_networks: ["everything"],
        },
      },
    },
    routes: [{
      name: "B",
      event: "Bad",
      channel: "sms",
      template: "stock.low",
    }],
  };
  assert.throws(() => parseNotificationsConfig(bad), (e: Error) => {
    assert.ok(e instanceof TypeError);
    for (
      const expected of [
        /destinations\.slack\.ops\.url_env: must name an environment variable starting with COMPTOIR_NOTIFY_/,
        /destinations\.webhook\.hook\.allow_private_networks\.0/,
        /routes\.0\.name/,
        /routes\.0\.event: like alert\.firing/,
        /routes\.0\.channel/,
      ]
    ) assert.match(e.message, expected);
    return true;
  });
});

Deno.test("parseNotificationsConfig() checks routes against destinations and templates", () => {
  const bad = {
    ...base,
    routes: [
      {
        name: "a",
        event: "stock.low",
        channel: "slack",
        destination: "nobody",
        template: "stock.low",
      },
      {
        name: "a",
        event: "stock.low",
        channel: "pagerduty",
        destination: "x",
        template: "stock.low",
      },
      {
        name: "b",
        event: "stock.low",
        channel: "email",
        destination: "x@example.com",
        destination_from: "c.e",
        template: "nope",
      },
      {
        name: "c",
        event: "order.placed",
        channel: "email",
        destination: "y@example.com",
        template: "order.confirmation",
      },
    ],
  };
  assert.throws(() => parseNotificationsConfig(bad), (e: Error) => {
    for (
      const expected of [
        /routes\.0\.destination: no slack destination named nobody/,
        /routes\.1\.name: duplicate/,
        /routes\.1\.template: template stock\.low has no pagerduty version/,
        /routes\.2\.destination: give exactly one of destination and destination_from/,
        /routes\.2\.template: unknown template/,
      ]
    ) assert.match(e.message, expected);
    assert.ok(
      !e.message.includes("routes.3"),
      "an email route may name an address",
    );
    return true;
  });
});

Deno.test("the migrations seed the templates the registry defines", async () => {
  const sql = await Deno.readTextFile(
    new URL(
      "../../migrations/20261204110000_create_notify_outbox.sql",
      import.meta.url,
    ),
  );
  for (const t of Object.values(TEMPLATES)) {
    const channels = t.channels.map((c) => `'${c}'`).join(", ");
    const required = t.required.map((k) => `'${k}'`).join(", ");
    assert.ok(
      sql.includes(`('${t.name}', array[${channels}],\n    array[${required}]`),
      `${t.name} is seeded with channels ${channels} and keys ${required}`,
    );
  }
});
