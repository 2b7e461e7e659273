-- Every unique key of a tenant table includes company_id: a deployment
-- sharded by company_id can enforce only keys that hold the distribution
-- column, and the catalog lint now says so (rule unique_includes_company_id).
--
-- The one global unique key was the site key. It stays unique within a
-- workspace. Across workspaces it is unguessable (the server generates it),
-- and the named lookup refuses a key that more than one site holds, so an
-- ambiguous key resolves to nothing (fail closed), never to a guess.
DROP INDEX sites_site_key_idx;
ALTER TABLE sites ADD CONSTRAINT sites_site_key UNIQUE (company_id, site_key);
CREATE INDEX sites_site_key_lookup_idx ON sites (site_key);

DROP FUNCTION metiva_site_by_key(text);
CREATE FUNCTION metiva_site_by_key(p_key text)
RETURNS TABLE (company_id text, site_id uuid, allowed_origins text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.company_id, s.id, s.allowed_origins
  FROM sites s JOIN companies c ON c.id = s.company_id
  WHERE s.site_key = p_key AND s.enabled AND c.status = 'active'
    AND (SELECT count(*) FROM sites d WHERE d.site_key = p_key) = 1
$$;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_site_by_key(text) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_site_by_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_site_by_key(text) TO metiva_app;
