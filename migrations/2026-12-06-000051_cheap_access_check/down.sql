-- Back to the invoker version of migration 000007, owned by the owner role.
ALTER FUNCTION metiva_assert_access(uuid, uuid, text) OWNER TO metiva_owner;
CREATE OR REPLACE FUNCTION metiva_assert_access(p_user uuid, p_session uuid, p_role text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM memberships m
    JOIN companies c ON c.id = m.company_id
    JOIN sessions s ON s.id = p_session AND s.user_id = m.user_id
    WHERE m.user_id = p_user AND m.role = p_role AND m.status = 'active' AND c.status = 'active'
      AND s.revoked_at IS NULL AND s.expires_at > now()
  ) THEN
    RAISE EXCEPTION 'metiva: access revoked'
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'metiva_access';
  END IF;
END
$$;
REVOKE ALL ON FUNCTION metiva_assert_access(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_assert_access(uuid, uuid, text) TO metiva_app;
