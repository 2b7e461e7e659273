DROP TABLE deal_stage_history;
DROP INDEX deals_close_idx;
DROP INDEX deals_organisation_idx;
ALTER TABLE deals
    DROP CONSTRAINT deals_organisation_fk,
    DROP CONSTRAINT deals_stage_fk,
    DROP COLUMN version,
    DROP COLUMN outcome_reason,
    DROP COLUMN organisation_id,
    DROP COLUMN expected_close;
UPDATE deals SET stage = 'proposal' WHERE stage NOT IN ('lead', 'qualified', 'proposal', 'won', 'lost');
ALTER TABLE deals ADD CONSTRAINT deals_stage_check CHECK (stage IN ('lead', 'qualified', 'proposal', 'won', 'lost'));
DROP TRIGGER companies_default_pipeline ON companies;
DROP FUNCTION metiva_default_pipeline();
DROP TABLE pipeline_stages;
