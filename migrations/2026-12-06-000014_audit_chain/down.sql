DROP FUNCTION metiva_audit_companies();
REVOKE SELECT (company_id, seq, hash) ON audit_log FROM metiva_login;
DROP TRIGGER audit_log_chain ON audit_log;
DROP FUNCTION metiva_audit_chain();
ALTER TABLE audit_log
    DROP CONSTRAINT audit_log_chain_seq,
    DROP COLUMN seq,
    DROP COLUMN prev_hash,
    DROP COLUMN hash;
DROP FUNCTION metiva_audit_hash(bytea, text, bigint, bigint, timestamptz, uuid, text, text, text, text, text);
DROP FUNCTION metiva_audit_field(bytea);
