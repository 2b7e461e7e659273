DROP TABLE company_branding;
DELETE FROM stored_files WHERE purpose = 'logo';
ALTER TABLE stored_files DROP CONSTRAINT stored_files_logo_image;
ALTER TABLE stored_files DROP CONSTRAINT stored_files_purpose_check;
ALTER TABLE stored_files ADD CONSTRAINT stored_files_purpose_check
    CHECK (purpose IN ('invoice_pdf', 'contract', 'signature'));
