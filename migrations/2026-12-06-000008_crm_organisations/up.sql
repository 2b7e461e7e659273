-- The CRM workspace, part one: organisations (the client's customers and
-- prospects) and contacts that agency staff edit. Tenant rules as ever:
-- company_id leads every key and index, references are composite, RLS is
-- enabled, forced and restrictive (metiva_apply_tenant_policy).
--
-- Concurrent edits use optimistic concurrency: every editable row carries
-- a version that an update must name and bumps; a stale version updates
-- nothing and the caller answers 409 (no lost update).

CREATE TABLE organisations (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- A bare, lower-case host name (no scheme, no path).
    domain text CHECK (domain IS NULL OR (domain = lower(domain) AND domain ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$' AND length(domain) <= 253)),
    -- Kamer van Koophandel number: eight digits.
    kvk text CHECK (kvk IS NULL OR kvk ~ '^[0-9]{8}$'),
    -- Dutch VAT number: NL, nine digits, B, two digits.
    vat text CHECK (vat IS NULL OR vat ~ '^NL[0-9]{9}B[0-9]{2}$'),
    address text CHECK (address IS NULL OR length(address) <= 500),
    owner_user_id uuid,
    notes text CHECK (notes IS NULL OR length(notes) <= 10000),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT organisations_owner_fk FOREIGN KEY (company_id, owner_user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE SET NULL (owner_user_id)
);
CREATE INDEX organisations_name_idx ON organisations (company_id, lower(name));
CREATE UNIQUE INDEX organisations_domain_key ON organisations (company_id, domain) WHERE domain IS NOT NULL;
SELECT metiva_apply_tenant_policy('organisations');
GRANT SELECT, INSERT, UPDATE, DELETE ON organisations TO metiva_app;

ALTER TABLE persons
    ADD COLUMN organisation_id uuid,
    ADD COLUMN owner_user_id uuid,
    ADD COLUMN notes text CHECK (notes IS NULL OR length(notes) <= 10000),
    ADD COLUMN source text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'lead', 'capture', 'import')),
    ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    ADD CONSTRAINT persons_organisation_fk FOREIGN KEY (company_id, organisation_id)
        REFERENCES organisations (company_id, id) ON DELETE SET NULL (organisation_id),
    ADD CONSTRAINT persons_owner_fk FOREIGN KEY (company_id, owner_user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE SET NULL (owner_user_id);
CREATE INDEX persons_organisation_idx ON persons (company_id, organisation_id);
-- New and edited phone numbers are E.164 (the application normalises Dutch
-- local numbers); rows from before are left as they were.
ALTER TABLE persons ADD CONSTRAINT persons_phone_e164
    CHECK (phone IS NULL OR phone ~ '^\+[1-9][0-9]{6,14}$') NOT VALID;

-- Existing free-text organisation names become organisations, linked.
INSERT INTO organisations (company_id, name)
SELECT DISTINCT company_id, btrim(organisation) FROM persons
WHERE organisation IS NOT NULL AND btrim(organisation) <> '';
UPDATE persons p SET organisation_id = o.id
FROM organisations o
WHERE o.company_id = p.company_id AND o.name = btrim(p.organisation);
