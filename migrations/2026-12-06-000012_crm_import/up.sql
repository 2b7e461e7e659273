-- CSV import of contacts and organisations (issue 14). An uploaded file
-- is staged here between its preview and the user's confirmation;
-- nothing reaches persons or organisations until the user confirms, and
-- then every row is written in one transaction or none is.
--
-- Personal data: a staged file holds names, email addresses and phone
-- numbers that are not (yet) in the CRM, so it is kept as briefly as the
-- flow allows and seen by nobody but its uploader:
--   * one staged file per member: a new upload replaces the previous one;
--   * deleted in the transaction that confirms the import;
--   * expired an hour after upload: an expired row is never read again,
--     and it is deleted by the workspace's next upload;
--   * removed with the membership of the member who uploaded it.
-- It is never exported. (When the job queue lands, its retention sweep
-- should delete expired rows too.)
CREATE TABLE crm_imports (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    -- Who uploaded it; only they may preview or confirm it.
    user_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('contacts', 'organisations')),
    -- The file as uploaded, decoded as UTF-8 without its byte-order mark:
    -- at most 5 MB (the upload refuses more).
    body text NOT NULL CHECK (octet_length(body) BETWEEN 1 AND 5242880),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL DEFAULT now() + interval '1 hour',
    PRIMARY KEY (company_id, id),
    CONSTRAINT crm_imports_user_fk FOREIGN KEY (company_id, user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE CASCADE
);
CREATE INDEX crm_imports_user_idx ON crm_imports (company_id, user_id);
CREATE INDEX crm_imports_expiry_idx ON crm_imports (company_id, expires_at);
SELECT metiva_apply_tenant_policy('crm_imports');
GRANT SELECT, INSERT, DELETE ON crm_imports TO metiva_app;
-- For the row lock only (SELECT … FOR UPDATE needs an UPDATE grant): a
-- confirmation locks its staged file, so a second, concurrent confirm of
-- the same import waits and then finds it gone. The app never updates it.
GRANT UPDATE (expires_at) ON crm_imports TO metiva_app;
