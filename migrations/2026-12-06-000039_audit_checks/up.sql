-- Issue 16: the daily audit-chain verify's results, and the clean-up of
-- workspace export files after their download window.
--
-- audit_chain_checks: one row per verify of one company's chain (the job
-- `audit.chain_verify`, daily): when, how many rows held, the verified
-- head (seq and hash) and, when the chain broke, the first broken row and
-- why (a fixed code, never row content). The security page shows the
-- latest row.
--
-- Security:
-- * The latest intact check is also the next check's anchor: its head
--   (seq, hash) must still be in the chain, so rows cut off the end or a
--   chain rewritten from some row on (both invisible to the hash chain
--   alone) show as 'truncated' / 'rewritten'. This anchor lives in the
--   same database, so an administrator who rewrites both the chain and
--   this table still escapes it; an external anchor (the head published
--   elsewhere) remains the stronger step.
-- * The app role may read and append, never change or delete a check:
--   a check's row is evidence. Offboarding (owner role) deletes them with
--   every other tenant row.
CREATE TABLE audit_chain_checks (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    checked_at timestamptz NOT NULL DEFAULT now(),
    rows_checked bigint NOT NULL CHECK (rows_checked >= 0),
    head_seq bigint NOT NULL CHECK (head_seq >= 0),
    head_hash bytea NOT NULL CHECK (length(head_hash) = 32),
    ok boolean NOT NULL,
    broken_id bigint,
    broken_seq bigint,
    broken_kind text CHECK (broken_kind IN ('gap', 'altered', 'unlinked', 'truncated', 'rewritten')),
    CHECK (ok = (broken_kind IS NULL)),
    PRIMARY KEY (company_id, id)
);
CREATE INDEX audit_chain_checks_latest_idx ON audit_chain_checks (company_id, checked_at DESC);
SELECT metiva_apply_tenant_policy('audit_chain_checks');
GRANT SELECT, INSERT ON audit_chain_checks TO metiva_app;

-- A finished export's file is removed once its download window has
-- passed (the job `privacy.export_cleanup`, hourly); the export's row
-- stays as its history, and this records when its file went (a table of
-- its own: one row per removed file, written after the file is gone).
CREATE TABLE export_files_removed (
    company_id text NOT NULL REFERENCES companies (id),
    export_id uuid NOT NULL,
    removed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, export_id),
    FOREIGN KEY (company_id, export_id) REFERENCES exports (company_id, id)
);
SELECT metiva_apply_tenant_policy('export_files_removed');
GRANT SELECT, INSERT ON export_files_removed TO metiva_app;
