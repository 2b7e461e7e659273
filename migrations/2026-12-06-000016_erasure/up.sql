-- Erasure of one data subject, with a receipt (issue 16).
--
-- One transaction removes everything that identifies the subject (the
-- person row, its linked visitors, their page views with the sealed IPs,
-- pending and sent forwards, notes and tasks about the person, and, by
-- the persons trigger, its search terms), clears the contact link of its
-- deals (kept: the client's business record) and replaces the visitor
-- link of its consent decisions with a random tombstone id (kept: proof of
-- what was consented). The receipt records who, when, why and how many
-- rows per table were erased or kept and on which basis; never a name,
-- an email or a visitor key.
--
-- Security:
-- * Both new tables are tenant tables under the standard policies
--   (metiva_apply_tenant_policy) and append-only for the app role: a
--   receipt is proof, like the audit row that points at it.
-- * erased_subjects maps an erased person's id (a random uuid that, once
--   the person row is gone, identifies nobody) to its receipt, so a second
--   erasure of the same subject answers the first receipt.
-- * The consent ledger stays INSERT/SELECT for every column but the
--   subject link: the app may move a decision's visitor link to a
--   tombstone, once, and a trigger refuses any other change.

CREATE TABLE erasure_receipts (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    at timestamptz NOT NULL DEFAULT now(),
    -- The member who erased (an id, kept after the membership goes).
    actor_user_id uuid NOT NULL,
    subject_kind text NOT NULL CHECK (subject_kind IN ('person', 'visitor')),
    reason text NOT NULL CHECK (reason IN ('subject_request', 'consent_withdrawn', 'duplicate', 'other')),
    -- A short note for "other"; the form refuses one naming the subject.
    note text CHECK (note IS NULL OR length(btrim(note)) BETWEEN 1 AND 200),
    -- Random, not derived from anything the subject is: it links the kept
    -- consent decisions to this receipt and to nothing else.
    tombstone uuid NOT NULL DEFAULT gen_random_uuid(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT erasure_receipts_tombstone UNIQUE (company_id, tombstone),
    CONSTRAINT erasure_receipts_note_for_other CHECK (reason <> 'other' OR note IS NOT NULL)
);
CREATE INDEX erasure_receipts_at_idx ON erasure_receipts (company_id, at DESC);
SELECT metiva_apply_tenant_policy('erasure_receipts');
GRANT SELECT, INSERT ON erasure_receipts TO metiva_app;

-- One line per table the erasure touched: rows erased, rows kept and why
-- (a stable code), and the ids of kept records where they have a uuid.
CREATE TABLE erasure_receipt_lines (
    company_id text NOT NULL REFERENCES companies (id),
    receipt_id uuid NOT NULL,
    table_name text NOT NULL CHECK (table_name ~ '^[a-z_]{1,63}$'),
    erased bigint NOT NULL CHECK (erased >= 0),
    retained bigint NOT NULL CHECK (retained >= 0),
    basis text CHECK (basis IS NULL OR basis ~ '^[a-z_]{1,63}$'),
    retained_ids uuid[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (company_id, receipt_id, table_name),
    CONSTRAINT erasure_receipt_lines_receipt_fk FOREIGN KEY (company_id, receipt_id)
        REFERENCES erasure_receipts (company_id, id),
    CONSTRAINT erasure_receipt_lines_basis CHECK (retained = 0 OR basis IS NOT NULL)
);
SELECT metiva_apply_tenant_policy('erasure_receipt_lines');
GRANT SELECT, INSERT ON erasure_receipt_lines TO metiva_app;

CREATE TABLE erased_subjects (
    company_id text NOT NULL REFERENCES companies (id),
    subject_id uuid NOT NULL,
    receipt_id uuid NOT NULL,
    PRIMARY KEY (company_id, subject_id),
    CONSTRAINT erased_subjects_receipt_fk FOREIGN KEY (company_id, receipt_id)
        REFERENCES erasure_receipts (company_id, id)
);
CREATE INDEX erased_subjects_receipt_idx ON erased_subjects (company_id, receipt_id);
SELECT metiva_apply_tenant_policy('erased_subjects');
GRANT SELECT, INSERT ON erased_subjects TO metiva_app;

-- The consent ledger keeps an erased subject's decisions under a tombstone.
ALTER TABLE consent_decisions ADD COLUMN erased_subject uuid;
ALTER TABLE consent_decisions ADD CONSTRAINT consent_one_subject_link
    CHECK (visitor_id IS NULL OR erased_subject IS NULL);
CREATE INDEX consent_decisions_erased_idx ON consent_decisions (company_id, erased_subject)
    WHERE erased_subject IS NOT NULL;
GRANT UPDATE (visitor_id, erased_subject) ON consent_decisions TO metiva_app;

CREATE FUNCTION metiva_consent_tombstone_only() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  IF OLD.visitor_id IS NULL OR NEW.visitor_id IS NOT NULL
     OR OLD.erased_subject IS NOT NULL OR NEW.erased_subject IS NULL
     OR (NEW.company_id, NEW.id, NEW.site_id, NEW.analytics, NEW.identification, NEW.marketing,
         NEW.withdrawal, NEW.banner_version, NEW.lang, NEW.text_hash, NEW.decided_at)
        IS DISTINCT FROM
        (OLD.company_id, OLD.id, OLD.site_id, OLD.analytics, OLD.identification, OLD.marketing,
         OLD.withdrawal, OLD.banner_version, OLD.lang, OLD.text_hash, OLD.decided_at) THEN
    RAISE EXCEPTION 'metiva: a consent decision only moves from its visitor to a tombstone'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER consent_decisions_tombstone_only BEFORE UPDATE ON consent_decisions
  FOR EACH ROW EXECUTE FUNCTION metiva_consent_tombstone_only();

-- An erasure removes the subject's visitors, their page views (which hold
-- the sealed truncated IP) and their forwards.
GRANT DELETE ON visitors, page_views, forwards TO metiva_app;
