import assert from "node:assert/strict";
import { LOCALES } from "../model.ts";
import { TEMPLATES } from "./registry.ts";

Deno.test("every template renders its sample in English and French", () => {
  for (const template of Object.values(TEMPLATES)) {
    const payload = template.schema.parse(template.sample);
    const titles = LOCALES.map((locale) => template.render(payload, locale).title);
    assert.notEqual(titles[0], titles[1], `${template.name} is translated`);
    for (const locale of LOCALES) {
      const doc = template.render(payload, locale);
      assert.ok(
        doc.title.length > 0 && doc.sections.length > 0,
        `${template.name} ${locale}`,
      );
    }
    if (template.channels.includes("pagerduty")) {
      assert.ok(template.pagerduty?.(payload));
    }
  }
});

Deno.test("the order confirmation formats amounts and dates per locale", () => {
  const t = TEMPLATES["order.confirmation"];
  const payload = t.schema.parse(t.sample);
  const fr = JSON.stringify(t.render(payload, "fr"));
  const en = JSON.stringify(t.render(payload, "en"));
  assert.match(fr, /94,87\s€/);
  assert.match(en, /€94\.87/);
  assert.match(fr, /Votre commande n° 1042 est confirmée/);
  assert.match(en, /Your order #1042 is confirmed/);
});

Deno.test("alert templates carry the group's fingerprint as the PagerDuty dedup key", () => {
  const firing = TEMPLATES["alert.firing"];
  const resolved = TEMPLATES["alert.resolved"];
  assert.deepEqual(firing.pagerduty!(firing.schema.parse(firing.sample)), {
    action: "trigger",
    dedupKey: "8f3c2a1b9d0e4f56",
    source: "comptoir",
  });
  assert.equal(
    resolved.pagerduty!(resolved.schema.parse(resolved.sample)).action,
    "resolve",
  );
  const doc = resolved.render(resolved.schema.parse(resolved.sample), "en");
  assert.match(doc.title, /^\[Resolved\]/);
  assert.equal(doc.severity, "info");
});

Deno.test("a payload missing a nested variable does not fit its template", () => {
  const t = TEMPLATES["alert.firing"];
  const result = t.schema.safeParse({
    group_key: "g",
    status: "firing",
    alerts: [{ status: "firing" }],
  });
  assert.equal(result.success, false);
  assert.ok(
    result.error!.issues.some((i) => i.path.join(".") === "alerts.0.fingerprint"),
  );
});
