DROP TRIGGER known_networks_cache_changed ON known_networks;
DROP TRIGGER sites_cache_changed ON sites;
