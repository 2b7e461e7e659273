-- Conversion uploads (issue 18): one row per (won deal, ad platform),
-- created in the transaction that moves a deal linked to a person into a
-- won stage, for every ad platform the workspace connected. A job
-- (conversions.upload) sends it. See metiva_db::conversions.
--
-- Security and privacy:
-- * No personal data here: ids, the platform, the deal's value and
--   currency as won, and a reason code. The hashed identifiers are built at
--   the moment of sending and never stored.
-- * Consent is re-read from the visitor record at the moment of sending;
--   without marketing consent the row ends 'cancelled' with the reason
--   'no marketing consent' and is never sent later.
-- * UNIQUE (company, deal, platform): a deal is uploaded at most once per
--   platform, however often it is moved in and out of won.
-- * An erased person leaves no link: person_id is set NULL with it.
CREATE TABLE conversion_uploads (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    deal_id uuid NOT NULL,
    person_id uuid,
    platform text NOT NULL CHECK (platform IN ('google_ads', 'meta')),
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'uploaded', 'cancelled', 'failed')),
    reason text CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 200),
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    value_cents bigint NOT NULL CHECK (value_cents >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    won_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT conversion_uploads_once UNIQUE (company_id, deal_id, platform),
    CONSTRAINT conversion_uploads_deal_fk FOREIGN KEY (company_id, deal_id)
        REFERENCES deals (company_id, id) ON DELETE CASCADE,
    CONSTRAINT conversion_uploads_person_fk FOREIGN KEY (company_id, person_id)
        REFERENCES persons (company_id, id) ON DELETE SET NULL (person_id),
    CONSTRAINT conversion_uploads_sent CHECK ((state = 'uploaded') = (sent_at IS NOT NULL)),
    CONSTRAINT conversion_uploads_reason CHECK (state IN ('pending', 'uploaded') OR reason IS NOT NULL)
);
CREATE INDEX conversion_uploads_person_idx ON conversion_uploads (company_id, person_id);
CREATE INDEX conversion_uploads_state_idx ON conversion_uploads (company_id, state);
SELECT metiva_apply_tenant_policy('conversion_uploads');
-- No DELETE (a row is the upload's history; it goes with its deal), no
-- TRUNCATE. Only the state columns change after the row is made.
GRANT SELECT, INSERT ON conversion_uploads TO metiva_app;
GRANT UPDATE (state, reason, sent_at, updated_at) ON conversion_uploads TO metiva_app;
