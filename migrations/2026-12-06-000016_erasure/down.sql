REVOKE DELETE ON visitors, page_views, forwards FROM metiva_app;
DROP TRIGGER consent_decisions_tombstone_only ON consent_decisions;
DROP FUNCTION metiva_consent_tombstone_only();
REVOKE UPDATE (visitor_id, erased_subject) ON consent_decisions FROM metiva_app;
ALTER TABLE consent_decisions DROP COLUMN erased_subject;
DROP TABLE erased_subjects;
DROP TABLE erasure_receipt_lines;
DROP TABLE erasure_receipts;
