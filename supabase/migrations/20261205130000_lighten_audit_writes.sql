-- Audit writes: the CHECK constraints of audit.record_version move into its only two writers.
--
-- Every tracked statement runs one INSERT into audit.record_version, and PostgreSQL 15 builds the
-- check expressions of the target partition again for each INSERT statement (ExecRelCheck reads
-- each constraint's stored expression, plans and compiles it once per statement, not once per
-- session). With five of them, that rebuild was the largest single part of what tracking adds to
-- shop_api.place_order, which writes four audited statements (docs/benchmarks/audit.md).
--
-- The rules themselves stay, where the rows are made: no role may insert into the trail (the
-- grants give SELECT only), so its rows come from the generated capture triggers (op, table and
-- schema are constants of the generated SQL; no action, target or details) and from
-- audit.log_event (op EVENT, no table, and it refuses a bad action, target or details with 22023);
-- audit.current_actor() cuts the request id to 255 characters. NOT NULL columns are unchanged.

alter table audit.record_version
  drop constraint if exists record_version_op_check,
  drop constraint if exists record_version_shape_check,
  drop constraint if exists record_version_action_check,
  drop constraint if exists record_version_target_check,
  drop constraint if exists record_version_request_id_check;

comment on table audit.record_version is
  'Append-only audit trail, one row per row change (INSERT, UPDATE, DELETE), per TRUNCATE and per '
  'application event (EVENT), written in the transaction of the change. Partitioned by month. '
  'Only the capture triggers and audit.log_event write it, and they enforce its shape: op one of '
  'INSERT, UPDATE, DELETE, TRUNCATE, EVENT; EVENT rows have an action (dotted lowercase words, at '
  'most 100 characters), a target of at most 500 and no table; other rows a table and no action; '
  'request_id at most 255 characters.';
