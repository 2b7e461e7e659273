DROP INDEX deals_updated_idx;
DROP INDEX deals_stage_idx;
CREATE INDEX deals_stage_idx ON deals (company_id, stage);
