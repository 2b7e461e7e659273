-- The ingest path's caches follow changes on every instance (issue 19):
-- a site created, disabled, re-enabled or deleted, or a workspace's known
-- networks changed, notifies `metiva_cache` in the changing transaction;
-- every instance's listener drops the matching cache. The caches' TTLs
-- stay as the safety net for a listener that is down.
CREATE TRIGGER sites_cache_changed AFTER INSERT OR UPDATE OR DELETE ON sites
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_notify_cache('sites');
CREATE TRIGGER known_networks_cache_changed AFTER INSERT OR UPDATE OR DELETE ON known_networks
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_notify_cache('known_networks');
