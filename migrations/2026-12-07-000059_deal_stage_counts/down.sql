DROP TRIGGER deals_stage_counts_insert ON deals;
DROP TRIGGER deals_stage_counts_update ON deals;
DROP TRIGGER deals_stage_counts_delete ON deals;
DROP FUNCTION metiva_deal_stage_counts_apply();
DROP TABLE deal_stage_counts;
