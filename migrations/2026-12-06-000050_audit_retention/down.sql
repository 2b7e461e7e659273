DROP FUNCTION metiva_audit_cut(bigint, bytea, bigint, timestamptz, timestamptz, text, bytea);
ALTER TABLE audit_chain_checks DROP CONSTRAINT audit_chain_checks_broken_kind_check;
DELETE FROM audit_chain_checks WHERE broken_kind = 'checkpoint';
ALTER TABLE audit_chain_checks ADD CONSTRAINT audit_chain_checks_broken_kind_check
    CHECK (broken_kind IN ('gap', 'altered', 'unlinked', 'truncated', 'rewritten'));
ALTER TABLE retention_sweeps DROP COLUMN audit_rows;
DROP TABLE audit_checkpoints;
