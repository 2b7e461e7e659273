-- The board reads each stage's latest deals, and the deal list sorts by
-- the last change: both walk a company-leading index in order instead of
-- sorting the workspace's deals.
DROP INDEX deals_stage_idx;
CREATE INDEX deals_stage_idx ON deals (company_id, stage, updated_at DESC, id DESC);
CREATE INDEX deals_updated_idx ON deals (company_id, updated_at DESC, id DESC);
