/**
 * `deno task notify:preview TEMPLATE [--locale en|fr] [--channel CHANNEL] [--payload FILE]`:
 * renders a notification template with its sample data (or the JSON payload in FILE) exactly as
 * the notifications function would send it: the Slack Block Kit body, the email's subject, plain
 * text and HTML, the PagerDuty event. Nothing is sent.
 * @module
 */
import { parseArgs } from "node:util";
import { runMain, StackError } from "./lib/command.ts";
import { emailParts } from "../supabase/functions/notifications/channels/email.ts";
import { pagerDutyBody } from "../supabase/functions/notifications/channels/pagerduty.ts";
import { slackMessage } from "../supabase/functions/notifications/channels/slack.ts";
import { type Channel, type Locale, LOCALES } from "../supabase/functions/notifications/model.ts";
import { TEMPLATES } from "../supabase/functions/notifications/templates/registry.ts";

await runMain(async () => {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      locale: { type: "string", default: "en" },
      channel: { type: "string" },
      payload: { type: "string" },
    },
  });
  const names = Object.keys(TEMPLATES).join(", ");
  const template = TEMPLATES[positionals[0] ?? ""];
  if (!template) {
    throw new StackError(`usage: notify:preview TEMPLATE [--locale en|fr]; templates: ${names}`);
  }
  const locale = values.locale as Locale;
  if (!LOCALES.includes(locale)) {
    throw new StackError(`--locale must be one of ${LOCALES.join(", ")}`);
  }
  const raw = values.payload
    ? JSON.parse(await Deno.readTextFile(values.payload))
    : template.sample;
  const parsed = template.schema.safeParse(raw);
  if (!parsed.success) {
    throw new StackError(
      `the payload does not fit ${template.name}:\n  ${
        parsed.error.issues.map((i) => `${i.path.join(".") || "(payload)"}: ${i.message}`).join(
          "\n  ",
        )
      }`,
    );
  }
  const channels = values.channel ? [values.channel as Channel] : template.channels;
  for (const channel of channels) {
    if (!template.channels.includes(channel)) {
      throw new StackError(
        `${template.name} has no ${channel} version (${template.channels.join(", ")})`,
      );
    }
  }
  const doc = template.render(parsed.data, locale);
  for (const channel of channels) {
    console.log(`── ${template.name} · ${channel} · ${locale} ${"─".repeat(40)}`);
    switch (channel) {
      case "slack":
        console.log(JSON.stringify(slackMessage(doc), null, 2));
        break;
      case "email": {
        const { subject, text, html } = emailParts(doc);
        console.log(`Subject: ${subject}\n\n${text}\n── html ──\n${html}`);
        break;
      }
      case "webhook":
        console.log(JSON.stringify({ type: template.name, data: parsed.data }, null, 2));
        break;
      case "pagerduty": {
        const event = template.pagerduty!(parsed.data);
        console.log(
          JSON.stringify(pagerDutyBody("<routing key>", event, doc, parsed.data), null, 2),
        );
        break;
      }
    }
  }
});
