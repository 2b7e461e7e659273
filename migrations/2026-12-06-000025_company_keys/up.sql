-- Per-company data keys (envelope encryption) and the offboarding register
-- (issue 16).
--
-- Security:
-- * company_keys is a tenant table under the standard policies: a
--   transaction bound to one company can read that company's wrapped data
--   key (DEK) and no other, and offboarding's catalog-driven delete
--   destroys it with the rest of the company's rows (crypto-shredding).
-- * A DEK is stored only wrapped (AES-256-GCM) by the key-encryption key
--   named in kek_id (the master key, METIVA_ENCRYPTION_KEY, or later a
--   KMS key); the wrap's associated data binds company and DEK id, so a
--   wrapped key copied to another company's row does not unwrap there.
-- * The app role may read and create (once per company, lazily) its DEK,
--   never change or delete one: a compromised app cannot substitute or
--   shred a key. Rewrapping (metiva keys rotate) and destroying
--   (metiva offboard) run as the owner role.
-- * Data backups leave this table's rows out (pg_dump
--   --exclude-table-data=company_keys, see README "Backups and keys"):
--   a dump that carried the wrapped DEKs would open with the master key
--   whatever was destroyed later.
CREATE TABLE company_keys (
    company_id text NOT NULL REFERENCES companies (id),
    id text NOT NULL CHECK (id ~ '^d-[0-9a-f]{16}$'),
    kek_id text NOT NULL CHECK (length(kek_id) BETWEEN 1 AND 200),
    wrap_nonce bytea NOT NULL CHECK (length(wrap_nonce) = 12),
    -- 32 key bytes and the 16-byte tag.
    wrapped bytea NOT NULL CHECK (length(wrapped) = 48),
    created_at timestamptz NOT NULL DEFAULT now(),
    rewrapped_at timestamptz,
    PRIMARY KEY (company_id, id)
);
-- One DEK per company.
CREATE UNIQUE INDEX company_keys_one_per_company ON company_keys (company_id);
SELECT metiva_apply_tenant_policy('company_keys');
GRANT SELECT, INSERT ON company_keys TO metiva_app;

-- A company being offboarded, or offboarded: nobody signs in to it again.
ALTER TABLE companies DROP CONSTRAINT companies_status_check;
ALTER TABLE companies ADD CONSTRAINT companies_status_check
    CHECK (status IN ('active', 'suspended', 'offboarding', 'offboarded'));

-- The offboarding register: one row per offboarded (or offboarding)
-- workspace, kept after everything else of it is gone. Global (its
-- workspace column is deliberately not called company_id, so the catalog
-- does not count it as tenant data to delete) and owner-only: the app
-- role has no grant. It holds ids, times and per-table counts: no name,
-- no email, nothing personal.
CREATE TABLE offboardings (
    workspace text PRIMARY KEY REFERENCES companies (id),
    state text NOT NULL CHECK (state IN ('running', 'done')),
    -- The owner who asked on the page, or NULL for the operator's command.
    actor_user_id uuid,
    requested_by text NOT NULL CHECK (requested_by IN ('owner', 'operator')),
    started_at timestamptz NOT NULL DEFAULT now(),
    key_destroyed_at timestamptz,
    finished_at timestamptz,
    -- {"table": rows deleted}, added to in the same transaction as each
    -- batch's delete, so a resumed run counts every row exactly once.
    rows_deleted jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT offboardings_done CHECK (state <> 'done' OR finished_at IS NOT NULL)
);
REVOKE ALL ON offboardings FROM PUBLIC;
