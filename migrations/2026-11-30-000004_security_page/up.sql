-- The security page lists the workspaces the signed-in user belongs to.
-- The dashboard's role sees one workspace at a time, so this is a narrow
-- directory answer: given a live session id (which only a verified token
-- carries), the active workspaces of that session's user. Names and ids
-- only; nothing about other members.
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
GRANT SELECT ON sessions TO metiva_directory;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_session_workspaces(uuid) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_session_workspaces(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_session_workspaces(uuid) TO metiva_app;

-- Sessions remember where they were started: the client IP truncated
-- (IPv4 /24, IPv6 /48) and encrypted with AES-256-GCM (key id, nonce,
-- ciphertext; associated data binds it to this table, column and row).
ALTER TABLE sessions
    ADD COLUMN ip_key_id text,
    ADD COLUMN ip_nonce bytea CHECK (ip_nonce IS NULL OR length(ip_nonce) = 12),
    ADD COLUMN ip_ciphertext bytea;
GRANT SELECT (ip_key_id, ip_nonce, ip_ciphertext) ON sessions TO metiva_app;
