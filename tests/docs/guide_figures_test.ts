/**
 * Every measured figure of the guides comes from a report: in each paragraph, list item or table
 * row of docs/guides/ that names a report of docs/benchmarks/, every number followed by a unit (%,
 * ms, µs, s, GB, MB, MiB, rows/s, req/s, messages/s, sets/s, ×) or preceded by `$` must appear in
 * one of the reports it names. A paragraph saying "Every figure below comes from <report>" makes
 * that report the one of every later paragraph of the guide that names none. Paragraphs that name
 * no report state configuration (a `for: 2m`, a 5 s flush), not measurements, and are not checked.
 * Code spans, fenced blocks and link targets are left out (flags such as `--reps 3`, ports of
 * URLs).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const GUIDES = new URL("docs/guides/", ROOT);

const FIGURE =
  /(\$)?[+−-]?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s?(%|ms|µs|s|GB|MB|MiB|rows\/s|req\/s|messages\/s|sets\/s|×)(?![\p{L}\d]))?/gu;

/** The paragraphs, list items and table rows of a Markdown text, fenced blocks left out. */
export function blocksOf(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "");
  const blocks: string[] = [];
  for (const paragraph of prose.split(/\n\s*\n/)) {
    let current: string[] = [];
    for (const line of paragraph.split("\n")) {
      if (/^\s*(?:[-*|]|\d+\.)\s/.test(line) && current.length > 0) {
        blocks.push(current.join("\n"));
        current = [];
      }
      current.push(line);
    }
    if (current.length > 0) blocks.push(current.join("\n"));
  }
  return blocks.map((block) => block.trim()).filter((block) => block !== "");
}

/** The reports of docs/benchmarks/ a block names (by link or by path). */
export function reportsNamed(block: string): string[] {
  return [...new Set([...block.matchAll(/benchmarks\/([\w.-]+\.md)/g)].map((m) => m[1]))];
}

/** The measured figures of a block, as written (number and unit). */
export function figuresOf(block: string): { text: string; number: string }[] {
  const prose = block
    .replace(/`[^`\n]*`/g, " ")
    .replace(/\]\([^)\s]*\)/g, "]")
    .replace(/<https?:[^>]*>|https?:\/\/\S+/g, " ");
  const figures: { text: string; number: string }[] = [];
  for (const match of prose.matchAll(FIGURE)) {
    const [text, dollar, whole, fraction = "", unit] = match;
    if (!dollar && !unit) continue;
    figures.push({ text: text.trim(), number: whole.replaceAll(",", "") + fraction });
  }
  return figures;
}

/** Every number of a report, thousands separators removed. */
function numbersOf(report: string): Set<string> {
  return new Set([...report.matchAll(/\d[\d,]*(?:\.\d+)?/g)].map((m) => m[0].replaceAll(",", "")));
}

Deno.test("figuresOf() finds the figures with a unit and leaves code and links out", () => {
  const block = "A scrape took 90 ms (`--interval 5s`), $260.01 a month, 19.0 % slower, " +
    "213,553 rows/s, 11.4× faster, in [the report](../benchmarks/x.md); 12 checks, 3 seconds.";
  assert.deepEqual(figuresOf(block).map((f) => f.number), [
    "90",
    "260.01",
    "19.0",
    "213553",
    "11.4",
  ]);
  assert.deepEqual(reportsNamed(block), ["x.md"]);
  assert.deepEqual(
    blocksOf("a\nb\n\n- one\n- two\n```sh\n- code\n```\n"),
    ["a\nb", "- one", "- two"],
  );
});

Deno.test("every figure of a guide paragraph that names a report appears in that report", async () => {
  const missing: string[] = [];
  let checked = 0;
  for await (const entry of Deno.readDir(GUIDES)) {
    if (!entry.isFile || !entry.name.endsWith(".md")) continue;
    const text = await Deno.readTextFile(new URL(entry.name, GUIDES));
    let everyFigureBelow: string[] = [];
    for (const block of blocksOf(text)) {
      let reports = reportsNamed(block);
      if (/every figure below/i.test(block)) everyFigureBelow = reports;
      if (reports.length === 0) reports = everyFigureBelow;
      if (reports.length === 0) continue;
      const numbers = new Set<string>();
      for (const name of reports) {
        const report = await Deno.readTextFile(new URL(`docs/benchmarks/${name}`, ROOT)).catch(
          () => "",
        );
        assert.ok(report, `${entry.name} names docs/benchmarks/${name}, which does not exist`);
        for (const n of numbersOf(report)) numbers.add(n);
      }
      for (const figure of figuresOf(block)) {
        checked++;
        if (!numbers.has(figure.number)) {
          missing.push(`${entry.name}: "${figure.text}" is not in ${reports.join(", ")}`);
        }
      }
    }
  }
  assert.ok(checked >= 40, `only ${checked} figures were checked`);
  assert.deepEqual(missing, []);
});
