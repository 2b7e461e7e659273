-- Back to the SQL function of migration 000004.
DROP FUNCTION metiva_session_workspaces(uuid);
CREATE FUNCTION metiva_session_workspaces(p_session uuid)
RETURNS TABLE (company_id text, company_name text, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.company_id, c.name, m.role
  FROM sessions s
  JOIN memberships m ON m.user_id = s.user_id
  JOIN companies c ON c.id = m.company_id
  WHERE s.id = p_session AND s.revoked_at IS NULL AND s.expires_at > now()
    AND m.status = 'active' AND c.status = 'active'
  ORDER BY c.name
$$;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_session_workspaces(uuid) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_session_workspaces(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_session_workspaces(uuid) TO metiva_app;
