-- Issue 15: the security page's workspace list, made cheap. The page bench
-- showed `metiva_session_workspaces` as the page's most expensive
-- statement (0.35 ms of PostgreSQL time per view, of 0.8 ms for the whole
-- page): a SQL function that cannot be inlined (SECURITY DEFINER, SET
-- search_path) is parsed and planned again on every call in PostgreSQL
-- 15. The same query in PL/pgSQL is planned once per connection and the
-- plan kept (RETURN QUERY through SPI's plan cache).
--
-- # Security
-- * The same answer as migration 000004: the active workspaces (company
--   id, name, the member's role) of the user of one live session, names
--   and ids only, ordered by name; nothing about other members.
-- * SECURITY DEFINER, owned by metiva_directory (BYPASSRLS, NOLOGIN, like
--   every definer function here): what it may read is limited by its own
--   WHERE clause, keyed by a session id only a verified token carries.
-- * search_path is pinned (pg_catalog, then pg_temp last) and every
--   relation is schema-qualified, so a definer call cannot be redirected
--   to an object someone else created. Every column is qualified by its
--   table alias, never confused with the output columns.
-- * Executable by metiva_app only (as before).
DROP FUNCTION metiva_session_workspaces(uuid);
CREATE FUNCTION metiva_session_workspaces(p_session uuid)
RETURNS TABLE (company_id text, company_name text, role text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RETURN QUERY
  SELECT m.company_id, c.name, m.role
  FROM public.sessions s
  JOIN public.memberships m ON m.user_id = s.user_id
  JOIN public.companies c ON c.id = m.company_id
  WHERE s.id = p_session AND s.revoked_at IS NULL AND s.expires_at > now()
    AND m.status = 'active' AND c.status = 'active'
  ORDER BY c.name;
END
$$;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_session_workspaces(uuid) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_session_workspaces(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_session_workspaces(uuid) TO metiva_app;
