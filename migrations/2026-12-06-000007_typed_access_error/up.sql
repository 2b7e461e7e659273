-- The access assertion names itself in the error's CONSTRAINT field, a
-- structured field the driver hands back, so the application recognises a
-- revoked access by SQLSTATE 42501 plus that name rather than by matching
-- the English message text (which lc_messages may translate).
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

-- The security page's self-test tries one write carrying a foreign
-- company_id, as the runtime role. The refusal is classified here, by
-- SQLSTATE (42501 is how row-level security refuses), so the application
-- never has to read the English message. The exception block is a
-- subtransaction: whatever happens, nothing of the probe remains.
CREATE FUNCTION metiva_probe_foreign_write(p_foreign text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  n bigint;
BEGIN
  INSERT INTO persons (company_id, name) VALUES (p_foreign, 'isolation self-test');
  GET DIAGNOSTICS n = ROW_COUNT;
  RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'metiva-probe-written:' || n;
EXCEPTION
  WHEN insufficient_privilege THEN
    RETURN 'refused:' || SQLERRM;
  WHEN raise_exception THEN
    -- The write went through; raising undid it.
    RETURN 'written:' || substr(SQLERRM, length('metiva-probe-written:') + 1);
  WHEN others THEN
    RETURN 'other:' || SQLSTATE || ' ' || SQLERRM;
END
$$;
REVOKE ALL ON FUNCTION metiva_probe_foreign_write(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_probe_foreign_write(text) TO metiva_app;
