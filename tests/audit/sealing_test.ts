import assert from "node:assert/strict";
import postgres from "postgres";
import { testDatabaseUrl } from "../_support/dev_server.ts";

/**
 * Seal positions of the audit rows of the stock movements of `delta`. Stock movements, because
 * nothing else serializes their writers: a category write also bumps the category listing's
 * version row, so two open transactions writing categories wait for each other whatever the
 * sealer does.
 */
async function sealed(sql: postgres.Sql, delta: number): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    select count(s.seq)::int as n
    from audit.record_version r join audit.seal s on s.id = r.id and s.ts = r.ts
    where r.table_name = 'stock_movements' and r.record ->> 'delta' = ${String(delta)}`;
  return n;
}

/** A product to record stock movements of (one is created when the shop is empty). */
async function someProduct(sql: postgres.Sql, tag: string): Promise<number> {
  const [found] = await sql<{ id: string }[]>`select min(id)::text as id from public.products`;
  if (found?.id) return Number(found.id);
  const [{ id: category }] = await sql<{ id: string }[]>`
    insert into public.categories (name, slug) values (${tag}, ${tag}) returning id::text`;
  const [{ id }] = await sql<{ id: string }[]>`
    insert into public.products (category_id, sku, name, price_cents)
    values (${category}, ${"SEAL-" + tag.slice(5).toUpperCase()}, ${tag}, 100) returning id::text`;
  return Number(id);
}

Deno.test("audit.seal() never waits for writers and never skips a late commit", async () => {
  const url = testDatabaseUrl();
  const writer = postgres(url, { max: 1, onnotice: () => {} });
  const other = postgres(url, { max: 1, onnotice: () => {} });
  const sealer = postgres(url, { max: 1, onnotice: () => {} });
  const tag = `seal-${Date.now().toString(36)}`;
  // Distinct deltas name this run's rows.
  const first = 100_000 + Math.floor(Math.random() * 800_000) * 3;
  const [earlyDelta, lateDelta, goneDelta] = [first, first + 1, first + 2];
  let commit: (() => void) | undefined;
  try {
    const product = await someProduct(sealer, tag);
    const started = (await sealer`select now() as t`)[0].t as Date;
    const move = (sql: postgres.Sql | postgres.TransactionSql, delta: number) =>
      sql`insert into public.stock_movements (product_id, delta, reason)
          values (${product}, ${delta}, 'adjustment')`;
    // An early transaction writes first (lower id) and stays open while a later one commits.
    const mayCommit = new Promise<void>((resolve) => commit = resolve);
    let wrote!: () => void;
    const written = new Promise<void>((resolve) => wrote = resolve);
    const early = writer.begin(async (tx) => {
      await move(tx, earlyDelta);
      wrote();
      await mayCommit;
    });
    await written;
    await move(other, lateDelta);

    // The sealer runs meanwhile: it must answer at once (writers hold no lock it needs) ...
    await sealer`set statement_timeout = '5s'`;
    await sealer`select audit.seal()`;
    assert.equal(await sealed(sealer, lateDelta), 1, "the committed row is sealed");
    assert.equal(await sealed(sealer, earlyDelta), 0, "the open transaction's row is not");

    // ... and writers never wait for it either: the early transaction commits after the seal.
    commit?.();
    await early;
    await sealer`select audit.seal()`;
    assert.equal(await sealed(sealer, earlyDelta), 1, "the late commit is sealed next time");
    assert.deepEqual(
      [...await sealer`select * from audit.verify(${started}, 'infinity')`],
      [],
      "the chain of everything sealed since the test began verifies",
    );

    // A transaction that rolls back leaves nothing to seal.
    await other.begin(async (tx) => {
      await move(tx, goneDelta);
      await tx`select pg_sleep(0)`;
      throw new Error("roll back");
    }).catch(() => {});
    await sealer`select audit.seal()`;
    const [{ n }] = await sealer<{ n: number }[]>`
      select count(*)::int as n from audit.record_version
      where table_name = 'stock_movements' and record ->> 'delta' = ${String(goneDelta)}`;
    assert.equal(n, 0);
  } finally {
    commit?.();
    await Promise.all([writer.end(), other.end(), sealer.end()]);
  }
});
