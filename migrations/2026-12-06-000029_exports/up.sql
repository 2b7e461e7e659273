-- Exports (issue 16): the whole-workspace export's status and progress,
-- and single-use download tokens. See metiva_db::exports.
--
-- A workspace export is written by a job (kind privacy.workspace_export)
-- to a temporary file, renamed into place when complete, and only then
-- marked done (in the job's own transaction): a crash mid-export leaves
-- status 'running' or 'queued', never 'done', so nothing half-written is
-- ever offered. The file's location is derived from the company and the
-- export id (never stored as a free path).
CREATE TABLE exports (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    requested_by uuid NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_done bigint NOT NULL DEFAULT 0 CHECK (rows_done >= 0),
    rows_total bigint NOT NULL DEFAULT 0 CHECK (rows_total >= 0),
    tables_done integer NOT NULL DEFAULT 0 CHECK (tables_done >= 0),
    tables_total integer NOT NULL DEFAULT 0 CHECK (tables_total >= 0),
    bytes bigint CHECK (bytes >= 0),
    sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    attempt integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    error text CHECK (length(error) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    downloaded_at timestamptz,
    PRIMARY KEY (company_id, id)
);
CREATE INDEX exports_company_created_idx ON exports (company_id, created_at DESC);
SELECT metiva_apply_tenant_policy('exports');
-- No DELETE, no TRUNCATE: an export's row is its history.
GRANT SELECT, INSERT, UPDATE ON exports TO metiva_app;

-- A download token: only its SHA-256 is stored; single use (used_at set
-- once, by an UPDATE ... WHERE used_at IS NULL), 24 hours at most.
CREATE TABLE export_downloads (
    company_id text NOT NULL REFERENCES companies (id),
    token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
    export_id uuid NOT NULL,
    issued_to uuid NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (company_id, token_hash),
    FOREIGN KEY (company_id, export_id) REFERENCES exports (company_id, id)
);
CREATE INDEX export_downloads_export_idx ON export_downloads (company_id, export_id);
SELECT metiva_apply_tenant_policy('export_downloads');
GRANT SELECT, INSERT, UPDATE ON export_downloads TO metiva_app;
