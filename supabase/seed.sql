-- Demo data for `supabase db reset`: 2,000 orders, 200 products, 200 customers, 12 categories.
--
-- Deterministic (seed 42) apart from the window, which ends at today's midnight so the data looks
-- current. Larger data sets: select demo.generate(<scale>) or the chunked functions (see
-- docs/reference/schema.md).
select demo.generate(2);
