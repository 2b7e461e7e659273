-- Issue 15: the access assertion every guarded transaction runs in its
-- binding statement (`SELECT set_config('app.company_id', …),
-- metiva_assert_access(…) IS NULL`), made cheap. It was the single most
-- expensive statement of a record page (about 0.12 ms of a page's 0.29 ms
-- of statement time under load): a three-table join evaluated under RLS,
-- where the sessions policy adds an EXISTS over memberships and every
-- table its restrictive tenant filter. Now it is three primary-key
-- lookups (memberships (company_id, user_id), companies (id), sessions
-- (id)) with no policy in between: about half the cost per call
-- (pgbench, one client, BEGIN + binding + COMMIT: 0.078 -> 0.058 ms,
-- against 0.036 ms for the binding without the assertion).
--
-- # Security
-- * SECURITY DEFINER, owned by metiva_directory (BYPASSRLS, NOLOGIN, like
--   every definer function here), so RLS is not evaluated inside. What the
--   function may look at is limited by its own WHERE clause instead: the
--   membership row of the company this transaction is bound to
--   (`app.company_id`, the transaction-local setting the same statement
--   has just set), the company row of that same id and the one session
--   named. That is exactly what the app role could already read through
--   RLS under that binding (its own company's memberships and company
--   row, and sessions of that company's members), so nothing widens.
-- * It returns nothing and raises on refusal: no row data leaves it.
-- * Fail closed: no binding ('' -> NULL), an unknown or inactive
--   membership, a different role than the token's, a suspended or
--   offboarding company, and a revoked, expired or someone else's session
--   all find no row and raise SQLSTATE 42501 with CONSTRAINT
--   'metiva_access' (as migration 000007), which aborts the transaction
--   before any of the request's queries runs.
-- * search_path is pinned (pg_catalog, then pg_temp last) and every
--   relation is schema-qualified, so a definer call cannot be redirected
--   to an object someone else created.
-- * Executable by metiva_app only (as before).
CREATE OR REPLACE FUNCTION metiva_assert_access(p_user uuid, p_session uuid, p_role text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM FROM public.memberships m
    JOIN public.companies c ON c.id = m.company_id
    JOIN public.sessions s ON s.id = p_session
   WHERE m.company_id = NULLIF(current_setting('app.company_id', true), '')
     AND m.user_id = p_user AND m.role = p_role AND m.status = 'active'
     AND c.status = 'active'
     AND s.user_id = p_user AND s.revoked_at IS NULL AND s.expires_at > now();
  IF NOT FOUND THEN
    RAISE EXCEPTION 'metiva: access revoked'
      USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'metiva_access';
  END IF;
END
$$;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_assert_access(uuid, uuid, text) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_assert_access(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_assert_access(uuid, uuid, text) TO metiva_app;
