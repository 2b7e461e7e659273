DROP FUNCTION metiva_sweep_companies();
DROP INDEX persons_updated_idx;
DROP INDEX visitors_last_seen_idx;
-- DELETE on page_views and visitors stays: migration erasure grants it too.
REVOKE DELETE ON consent_decisions FROM metiva_app;
DROP TABLE retention_sweeps;
DROP TABLE retention_settings;
