import assert from "node:assert/strict";
import { escapeMrkdwn, SLACK_LIMITS, slackMessage } from "./slack.ts";

Deno.test("escapeMrkdwn() escapes the three characters Slack reads as markup", () => {
  assert.equal(
    escapeMrkdwn("<!channel> & <https://x|y>"),
    "&lt;!channel&gt; &amp; &lt;https://x|y&gt;",
  );
});

Deno.test("slackMessage() keeps to Slack's limits, cutting long text with a link to the rest", () => {
  const long = "é".repeat(5000);
  const message = slackMessage({
    title: "T".repeat(400),
    intro: long,
    sections: Array.from({ length: 80 }, (_, i) => ({
      heading: `Alert ${i} <b>`,
      text: "x & y",
      fields: Array.from(
        { length: 14 },
        (_, j) => [`f${j}`, "v".repeat(2500)] as const,
      ),
    })),
    links: Array.from(
      { length: 30 },
      (_, i) => ({ label: `L${i}`, url: `https://e.example/${i}` }),
    ),
    footer: "group",
    moreUrl: "https://alerts.example/#/alerts?x=1|2",
  });
  const blocks = message.blocks as {
    type: string;
    text?: { text: string };
    fields?: { text: string }[];
    elements?: unknown[];
  }[];
  assert.ok(blocks.length <= SLACK_LIMITS.blocks, `${blocks.length} blocks`);
  assert.equal(blocks[0].type, "header");
  assert.ok(blocks[0].text!.text.length <= SLACK_LIMITS.headerText);
  for (const b of blocks) {
    if (b.type === "section" && b.text) {
      assert.ok(b.text.text.length <= SLACK_LIMITS.sectionText);
    }
    if (b.fields) {
      assert.ok(b.fields.length <= SLACK_LIMITS.fields);
      for (const f of b.fields) {
        assert.ok(f.text.length <= SLACK_LIMITS.fieldText);
      }
    }
    if (b.type === "actions") {
      assert.ok(b.elements!.length <= SLACK_LIMITS.buttons);
    }
  }
  assert.match(
    blocks[1].text!.text,
    /… <https:\/\/alerts\.example\/#\/alerts\?x=1%7C2\|more>$/,
  );
  const note = JSON.stringify(blocks.at(-3));
  assert.match(
    note,
    /more not shown — <https:\/\/alerts\.example\/#\/alerts\?x=1%7C2\|see all>/,
  );
  assert.ok(JSON.stringify(blocks).includes("Alert 0 &lt;b&gt;"));
  assert.ok(message.text.length <= SLACK_LIMITS.sectionText);
});

Deno.test("slackMessage() never cuts inside an escaped character", () => {
  const message = slackMessage({
    title: "t",
    intro: "&".repeat(4000),
    sections: [],
    links: [],
  });
  const text = (message.blocks[1] as { text: { text: string } }).text.text;
  assert.match(text, /^(&amp;)+…$/);
});
