import assert from "node:assert/strict";
import postgres from "postgres";
import { testDatabaseUrl } from "../_support/dev_server.ts";

/** Seal positions of the audit rows of categories named `slug`. */
async function sealed(sql: postgres.Sql, slug: string): Promise<number> {
  const [{ n }] = await sql<{ n: number }[]>`
    select count(s.seq)::int as n
    from audit.record_version r join audit.seal s on s.id = r.id and s.ts = r.ts
    where r.table_name = 'categories' and r.record ->> 'slug' = ${slug}`;
  return n;
}

Deno.test("audit.seal() never waits for writers and never skips a late commit", async () => {
  const url = testDatabaseUrl();
  const writer = postgres(url, { max: 1, onnotice: () => {} });
  const other = postgres(url, { max: 1, onnotice: () => {} });
  const sealer = postgres(url, { max: 1, onnotice: () => {} });
  const tag = `seal-${Date.now().toString(36)}`;
  let commit: (() => void) | undefined;
  try {
    const started = (await sealer`select now() as t`)[0].t as Date;
    // An early transaction writes first (lower id) and stays open while a later one commits.
    const mayCommit = new Promise<void>((resolve) => commit = resolve);
    let wrote!: () => void;
    const written = new Promise<void>((resolve) => wrote = resolve);
    const early = writer.begin(async (tx) => {
      await tx`insert into public.categories (name, slug) values (${tag}, ${tag + "-early"})`;
      wrote();
      await mayCommit;
    });
    await written;
    await other`insert into public.categories (name, slug) values (${tag}, ${tag + "-late"})`;

    // The sealer runs meanwhile: it must answer at once (writers hold no lock it needs) ...
    await sealer`set statement_timeout = '5s'`;
    await sealer`select audit.seal()`;
    assert.equal(await sealed(sealer, `${tag}-late`), 1, "the committed row is sealed");
    assert.equal(await sealed(sealer, `${tag}-early`), 0, "the open transaction's row is not");

    // ... and writers never wait for it either: the early transaction commits after the seal.
    commit?.();
    await early;
    await sealer`select audit.seal()`;
    assert.equal(await sealed(sealer, `${tag}-early`), 1, "the late commit is sealed next time");
    assert.deepEqual(
      [...await sealer`select * from audit.verify(${started}, 'infinity')`],
      [],
      "the chain of everything sealed since the test began verifies",
    );

    // A transaction that rolls back leaves nothing to seal.
    await other.begin(async (tx) => {
      await tx`insert into public.categories (name, slug) values (${tag}, ${tag + "-gone"})`;
      await tx`select pg_sleep(0)`;
      throw new Error("roll back");
    }).catch(() => {});
    await sealer`select audit.seal()`;
    const [{ n }] = await sealer<{ n: number }[]>`
      select count(*)::int as n from audit.record_version where record ->> 'slug' = ${
      tag + "-gone"
    }`;
    assert.equal(n, 0);
  } finally {
    commit?.();
    await Promise.all([writer.end(), other.end(), sealer.end()]);
  }
});
