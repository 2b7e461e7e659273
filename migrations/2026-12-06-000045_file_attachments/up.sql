-- Uploads attached to CRM records (issue 17): contracts and signature
-- images on a deal or an organisation, stored as every file is (sealed
-- contents in the object store, metadata here).
-- Each upload belongs to exactly one deal or one organisation, by a
-- composite reference (same company). Deleting the record deletes its
-- attachments' metadata, as it does its notes and tasks.
ALTER TABLE stored_files
    ADD COLUMN deal_id uuid,
    ADD COLUMN organisation_id uuid;
ALTER TABLE stored_files DROP CONSTRAINT stored_files_purpose_check;
ALTER TABLE stored_files ADD CONSTRAINT stored_files_purpose_check
    CHECK (purpose IN ('invoice_pdf', 'contract', 'signature'));
ALTER TABLE stored_files ADD CONSTRAINT stored_files_attachment_owner CHECK (
    purpose NOT IN ('contract', 'signature')
    OR num_nonnulls(deal_id, organisation_id) = 1
);
ALTER TABLE stored_files ADD CONSTRAINT stored_files_invoice_only CHECK (
    purpose <> 'invoice_pdf' OR num_nonnulls(deal_id, organisation_id) = 0
);
-- A signature is an image; a contract a PDF or a scan (PNG, JPEG).
ALTER TABLE stored_files ADD CONSTRAINT stored_files_signature_image CHECK (
    purpose <> 'signature' OR content_type IN ('image/png', 'image/jpeg')
);
ALTER TABLE stored_files ADD CONSTRAINT stored_files_deal_fk FOREIGN KEY (company_id, deal_id)
    REFERENCES deals (company_id, id) ON DELETE CASCADE;
ALTER TABLE stored_files ADD CONSTRAINT stored_files_organisation_fk FOREIGN KEY (company_id, organisation_id)
    REFERENCES organisations (company_id, id) ON DELETE CASCADE;
CREATE INDEX stored_files_deal_idx ON stored_files (company_id, deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX stored_files_organisation_idx ON stored_files (company_id, organisation_id)
    WHERE organisation_id IS NOT NULL;
