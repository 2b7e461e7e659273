-- An owner offboards the workspace from its page (issue 16).
--
-- The page (the app role) only *requests* the offboarding; the owner role
-- does the rest with the existing core (`metiva offboard`, which resumes a
-- register row in state `running`): destroying the data key and deleting
-- every row need the owner role, and a compromised app role must not be
-- able to shred a key or delete the audit log.
--
-- Security:
-- * metiva_request_offboarding is the one narrow way in. It is owned by
--   metiva_directory (BYPASSRLS), so it filters by the company the
--   caller's transaction is bound to (app.company_id), never by an
--   argument, and refuses an unbound transaction.
-- * It re-checks, inside the same transaction, that the caller is an
--   active *owner* of that active workspace in a live session (the same
--   join as metiva_assert_access), so an admin or a revoked owner cannot
--   request it whatever the app does.
-- * The typed name is compared here, under a row lock on the company, so
--   a rename between page and post cannot slip past the confirmation.
-- * What it changes is recoverable by an operator: the register row
--   (`running`, requested by the owner, who) and the company's status
--   `offboarding`, which ends every member's access at once
--   (metiva_assert_access needs an `active` company). No data is deleted
--   and no key destroyed by the app role.
CREATE FUNCTION metiva_request_offboarding(p_user uuid, p_session uuid, p_name text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_company text := NULLIF(current_setting('app.company_id', true), '');
  v_name text;
BEGIN
  IF v_company IS NULL THEN
    RAISE EXCEPTION 'metiva: no workspace bound' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM memberships m
    JOIN companies c ON c.id = m.company_id
    JOIN sessions s ON s.id = p_session AND s.user_id = m.user_id
    WHERE m.company_id = v_company AND m.user_id = p_user AND m.role = 'owner'
      AND m.status = 'active' AND c.status = 'active'
      AND s.revoked_at IS NULL AND s.expires_at > now()
  ) THEN
    RAISE EXCEPTION 'metiva: access revoked'
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'metiva_access';
  END IF;
  SELECT c.name INTO v_name FROM companies c WHERE c.id = v_company FOR UPDATE;
  IF v_name IS DISTINCT FROM p_name THEN
    RETURN 'name_mismatch';
  END IF;
  INSERT INTO offboardings (workspace, state, requested_by, actor_user_id)
    VALUES (v_company, 'running', 'owner', p_user)
    ON CONFLICT (workspace) DO NOTHING;
  UPDATE companies SET status = 'offboarding' WHERE id = v_company AND status = 'active';
  RETURN 'requested';
END
$$;

GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_request_offboarding(uuid, uuid, text) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
GRANT SELECT, INSERT ON offboardings TO metiva_directory;
GRANT UPDATE (status) ON companies TO metiva_directory;
REVOKE ALL ON FUNCTION metiva_request_offboarding(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_request_offboarding(uuid, uuid, text) TO metiva_app;
