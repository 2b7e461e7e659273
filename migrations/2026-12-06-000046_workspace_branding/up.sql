-- Workspace branding for invoices (issue 17): the sender's address, KvK
-- number, VAT number and logo, shown on every invoice PDF. One row per
-- workspace, edited by owners on /settings/branding. The formats are the
-- organisation table's (the forms check them first, these are the last
-- line). The logo is a stored file (sealed in the object store).
ALTER TABLE stored_files DROP CONSTRAINT stored_files_purpose_check;
ALTER TABLE stored_files ADD CONSTRAINT stored_files_purpose_check
    CHECK (purpose IN ('invoice_pdf', 'contract', 'signature', 'logo'));
-- A logo is a small image: 512 KB.
ALTER TABLE stored_files ADD CONSTRAINT stored_files_logo_image CHECK (
    purpose <> 'logo' OR (content_type IN ('image/png', 'image/jpeg') AND size_bytes <= 524288)
);

CREATE TABLE company_branding (
    company_id text NOT NULL REFERENCES companies (id),
    address text CHECK (address IS NULL OR length(btrim(address)) BETWEEN 1 AND 300),
    kvk text CHECK (kvk IS NULL OR kvk ~ '^[0-9]{8}$'),
    vat text CHECK (vat IS NULL OR vat ~ '^NL[0-9]{9}B[0-9]{2}$'),
    logo_file_id uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id),
    CONSTRAINT company_branding_logo_fk FOREIGN KEY (company_id, logo_file_id)
        REFERENCES stored_files (company_id, id)
);
SELECT metiva_apply_tenant_policy('company_branding');
GRANT SELECT, INSERT, UPDATE ON company_branding TO metiva_app;
