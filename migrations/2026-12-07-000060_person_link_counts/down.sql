DROP TRIGGER deals_person_counts_insert ON deals;
DROP TRIGGER deals_person_counts_update ON deals;
DROP TRIGGER deals_person_counts_delete ON deals;
DROP TRIGGER visitors_person_counts_insert ON visitors;
DROP TRIGGER visitors_person_counts_update ON visitors;
DROP TRIGGER visitors_person_counts_delete ON visitors;
DROP FUNCTION metiva_person_link_counts_apply();
ALTER TABLE persons DROP COLUMN deals_count, DROP COLUMN visitors_count;
