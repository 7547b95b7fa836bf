import assert from "node:assert/strict";
import { run } from "../../scripts/lib/command.ts";
import { loadContract } from "./monitoring_files.ts";

const HISTOGRAM_SUFFIX = /_(bucket|sum|count)$/;

interface Sample {
  name: string;
  labels: Record<string, string>;
}

function samplesOf(exposition: string): Sample[] {
  return exposition.split("\n").filter((line) => line !== "" && !line.startsWith("#")).map(
    (line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
      assert.ok(match, `not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[pair[1]] = pair[2];
      }
      return { name: match[1], labels };
    },
  );
}

Deno.test("the contract's example exposition passes promtool check metrics", async () => {
  const { example } = await loadContract();
  const result = await run("promtool", ["check", "metrics"], { stdin: example, check: false });
  assert.equal(result.code, 0, result.stdout + result.stderr);
});

Deno.test("the example exposition declares every family of the contract with its type", async () => {
  const { families, example } = await loadContract();
  const declared = new Map(
    [...example.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1], match[2]]),
  );
  assert.deepEqual(
    new Map(families.map((family) => [family.name, family.type])),
    declared,
  );
  assert.ok(families.length >= 30, `only ${families.length} families read from the contract`);
  for (const family of families) {
    assert.match(family.name, /^comptoir_[a-z0-9_]+$/);
    if (family.type === "counter") assert.match(family.name, /_total$/, family.name);
    else assert.doesNotMatch(family.name, /_total$/, family.name);
  }
});

Deno.test("the example's series carry exactly the labels of their family", async () => {
  const { families, example } = await loadContract();
  const byName = new Map(families.map((family) => [family.name, family]));
  for (const sample of samplesOf(example)) {
    const family = byName.get(sample.name) ??
      byName.get(sample.name.replace(HISTOGRAM_SUFFIX, ""));
    assert.ok(family, `${sample.name} belongs to no family of the contract`);
    const expected = [...family.labels];
    if (sample.name.endsWith("_bucket")) expected.push("le");
    assert.deepEqual(Object.keys(sample.labels).sort(), expected.sort(), sample.name);
  }
});

Deno.test("every label of the families is described in the label table", async () => {
  const { families, labels } = await loadContract();
  for (const family of families) {
    for (const label of family.labels) {
      assert.ok(labels.has(label), `${family.name}: label ${label} is not in the label table`);
    }
  }
});

Deno.test("histogram buckets of the contract match the example's le values", async () => {
  const { families, buckets, example } = await loadContract();
  const histograms = families.filter((family) => family.type === "histogram").map((f) => f.name);
  assert.deepEqual([...buckets.keys()].sort(), histograms.sort());
  for (const [name, les] of buckets) {
    const seen = samplesOf(example)
      .filter((sample) => sample.name === `${name}_bucket`)
      .map((sample) => sample.labels.le);
    assert.ok(seen.length > 0, `${name} has no bucket in the example`);
    // Every label set repeats the full bucket list; the first one is enough to compare.
    assert.deepEqual(seen.slice(0, les.length), les, name);
    for (const le of les.slice(0, -1)) assert.equal(String(Number(le)), le, `${name} le ${le}`);
  }
});
