-- Files in the object store (issue 17): the database keeps metadata only
-- (name, type, size, SHA-256, the owner record, and where the sealed
-- bytes are); the contents live in the object store, sealed with the
-- field cipher (associated data: company, 'stored_files', 'content',
-- file id), under a key that starts with the company id.
-- Tenant rules as ever: company_id leads every key and index, references
-- are composite, RLS enabled, forced and restrictive.
--
-- First purpose: an invoice's PDF (one per invoice). Contracts and
-- signature images (deals, organisations) extend the purpose check.
CREATE TABLE stored_files (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    purpose text NOT NULL CHECK (purpose IN ('invoice_pdf')),
    invoice_id uuid,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    content_type text NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    -- 10 MB, the upload limit.
    size_bytes bigint NOT NULL CHECK (size_bytes BETWEEN 1 AND 10485760),
    sha256 bytea NOT NULL CHECK (length(sha256) = 32),
    object_key text NOT NULL CHECK (length(object_key) BETWEEN 1 AND 500 AND starts_with(object_key, company_id || '/')),
    key_id text NOT NULL CHECK (length(key_id) BETWEEN 1 AND 100),
    nonce bytea NOT NULL CHECK (length(nonce) = 12),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT stored_files_owner CHECK (purpose <> 'invoice_pdf' OR invoice_id IS NOT NULL),
    CONSTRAINT stored_files_object_key UNIQUE (company_id, object_key),
    CONSTRAINT stored_files_invoice_fk FOREIGN KEY (company_id, invoice_id)
        REFERENCES invoices (company_id, id)
);
-- One PDF per invoice, however often its job runs.
CREATE UNIQUE INDEX stored_files_invoice_pdf_key ON stored_files (company_id, invoice_id)
    WHERE purpose = 'invoice_pdf';
SELECT metiva_apply_tenant_policy('stored_files');
-- Written once; never changed by the app (a new rendering is a new file).
GRANT SELECT, INSERT ON stored_files TO metiva_app;
