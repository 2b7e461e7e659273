-- The deal pipeline: stages configurable per workspace, deals that move
-- through them with a reason for won and lost, and the stage history.

CREATE TABLE pipeline_stages (
    company_id text NOT NULL REFERENCES companies (id),
    key text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,39}$'),
    label text NOT NULL CHECK (length(btrim(label)) BETWEEN 1 AND 60),
    position integer NOT NULL CHECK (position >= 0),
    -- Where a deal in this stage stands: still open, won or lost. Moving
    -- into a won or lost stage needs a reason.
    outcome text NOT NULL DEFAULT 'open' CHECK (outcome IN ('open', 'won', 'lost')),
    PRIMARY KEY (company_id, key)
);
CREATE INDEX pipeline_stages_position_idx ON pipeline_stages (company_id, position);
SELECT metiva_apply_tenant_policy('pipeline_stages');
GRANT SELECT, INSERT, UPDATE, DELETE ON pipeline_stages TO metiva_app;

-- The default pipeline, for every workspace that exists and every one
-- created later (under the creating transaction's own tenant binding, so
-- RLS checks it like any other write).
CREATE FUNCTION metiva_default_pipeline() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO pipeline_stages (company_id, key, label, position, outcome) VALUES
    (NEW.id, 'lead', 'Lead', 0, 'open'),
    (NEW.id, 'qualified', 'Qualified', 1, 'open'),
    (NEW.id, 'proposal', 'Proposal', 2, 'open'),
    (NEW.id, 'negotiation', 'Negotiation', 3, 'open'),
    (NEW.id, 'won', 'Won', 4, 'won'),
    (NEW.id, 'lost', 'Lost', 5, 'lost');
  RETURN NULL;
END
$$;
CREATE TRIGGER companies_default_pipeline AFTER INSERT ON companies
  FOR EACH ROW EXECUTE FUNCTION metiva_default_pipeline();

-- Existing workspaces: their rows, each under its own binding.
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT id FROM companies LOOP
    PERFORM set_config('app.company_id', c.id, true);
    INSERT INTO pipeline_stages (company_id, key, label, position, outcome) VALUES
      (c.id, 'lead', 'Lead', 0, 'open'),
      (c.id, 'qualified', 'Qualified', 1, 'open'),
      (c.id, 'proposal', 'Proposal', 2, 'open'),
      (c.id, 'negotiation', 'Negotiation', 3, 'open'),
      (c.id, 'won', 'Won', 4, 'won'),
      (c.id, 'lost', 'Lost', 5, 'lost');
  END LOOP;
  PERFORM set_config('app.company_id', '', true);
END
$$;

-- Deals: the stage is one of the workspace's own (composite key), plus a
-- close date, an organisation, the reason it was won or lost, and a
-- version for optimistic concurrency.
ALTER TABLE deals DROP CONSTRAINT deals_stage_check;
ALTER TABLE deals
    ADD COLUMN expected_close date,
    ADD COLUMN organisation_id uuid,
    ADD COLUMN outcome_reason text CHECK (outcome_reason IS NULL OR length(outcome_reason) <= 500),
    ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    ADD CONSTRAINT deals_stage_fk FOREIGN KEY (company_id, stage)
        REFERENCES pipeline_stages (company_id, key) ON UPDATE CASCADE,
    ADD CONSTRAINT deals_organisation_fk FOREIGN KEY (company_id, organisation_id)
        REFERENCES organisations (company_id, id) ON DELETE SET NULL (organisation_id);
CREATE INDEX deals_organisation_idx ON deals (company_id, organisation_id);
CREATE INDEX deals_close_idx ON deals (company_id, expected_close);

-- Every stage change of a deal, kept on its record.
CREATE TABLE deal_stage_history (
    company_id text NOT NULL REFERENCES companies (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    deal_id uuid NOT NULL,
    from_stage text,
    to_stage text NOT NULL,
    reason text CHECK (reason IS NULL OR length(reason) <= 500),
    actor_user_id uuid,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT deal_stage_history_deal_fk FOREIGN KEY (company_id, deal_id)
        REFERENCES deals (company_id, id) ON DELETE CASCADE
);
CREATE INDEX deal_stage_history_deal_idx ON deal_stage_history (company_id, deal_id, at);
SELECT metiva_apply_tenant_policy('deal_stage_history');
GRANT SELECT, INSERT ON deal_stage_history TO metiva_app;
