DROP FUNCTION metiva_site_by_key(text);
CREATE FUNCTION metiva_site_by_key(p_key text)
RETURNS TABLE (company_id text, site_id uuid, allowed_origins text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.company_id, s.id, s.allowed_origins
  FROM sites s JOIN companies c ON c.id = s.company_id
  WHERE s.site_key = p_key AND s.enabled AND c.status = 'active'
$$;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_site_by_key(text) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_site_by_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_site_by_key(text) TO metiva_app;
DROP INDEX sites_site_key_lookup_idx;
ALTER TABLE sites DROP CONSTRAINT sites_site_key;
CREATE UNIQUE INDEX sites_site_key_idx ON sites (site_key);
