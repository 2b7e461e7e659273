-- Sign-in: the login service's own tables (sessions, one-time codes,
-- throttling), invitations, the login role's grants, the directory
-- functions, and the notifications that keep membership caches honest.
--
-- Security:
-- * metiva_login (the login service) may read password hashes and manage
--   sessions; metiva_app (the dashboard) may not read a hash, ever.
-- * Cross-tenant reads the login service needs ("which workspaces is this
--   user in?") are SECURITY DEFINER functions owned by metiva_directory
--   (NOLOGIN, BYPASSRLS, not a superuser), each answering one narrow
--   question, executable only by the role that needs it.
-- * Everything else the login service does inside a workspace (recording a
--   sign-in, auditing) runs under that workspace's tenant context like any
--   other query, so FORCE'd RLS still applies.

-- Users: the login service reads credentials and sets passwords (invites).
CREATE POLICY users_login_read ON users FOR SELECT TO metiva_login USING (true);
CREATE POLICY users_login_set_password ON users FOR UPDATE TO metiva_login USING (true) WITH CHECK (true);
GRANT SELECT (id, email, name, password_hash), UPDATE (password_hash) ON users TO metiva_login;

-- Inside a workspace (tenant context), the login service may see the
-- company and memberships, record a sign-in, activate an accepted
-- invitation and write audit rows.
GRANT SELECT ON companies TO metiva_login;
GRANT SELECT, UPDATE (status, last_sign_in_at) ON memberships TO metiva_login;
GRANT INSERT ON audit_log TO metiva_login;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO metiva_login;

-- Sessions: one per sign-in (a browser), global because one sign-in can
-- enter several workspaces. Its id is the `sid` claim of every access
-- token, so revoking it ends the login session and every token at once.
-- The browser holds a random secret; only its SHA-256 is stored.
CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    user_agent text CHECK (user_agent IS NULL OR length(user_agent) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CONSTRAINT sessions_secret_key UNIQUE (secret_hash)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
REVOKE ALL ON sessions FROM PUBLIC;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY sessions_login ON sessions FOR ALL TO metiva_login USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE (last_seen_at, revoked_at) ON sessions TO metiva_login;
-- The dashboard sees (and may revoke) only sessions of members of the
-- current workspace: memberships is itself tenant-filtered.
CREATE POLICY sessions_app_read ON sessions FOR SELECT TO metiva_app
  USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = sessions.user_id));
CREATE POLICY sessions_app_revoke ON sessions FOR UPDATE TO metiva_app
  USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = sessions.user_id))
  WITH CHECK (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = sessions.user_id));
GRANT SELECT (id, user_id, user_agent, created_at, last_seen_at, expires_at, revoked_at),
      UPDATE (revoked_at) ON sessions TO metiva_app;

-- One-time authorization codes: the login service stores the access token
-- sealed (AES-256-GCM) under a key derived from the code, keyed by the
-- code's SHA-256, so this table holds nothing usable without the code
-- itself. The dashboard redeems a code exactly once (DELETE … RETURNING).
CREATE TABLE auth_codes (
    code_hash bytea PRIMARY KEY CHECK (length(code_hash) = 32),
    sealed_token bytea NOT NULL,
    return_to text NOT NULL CHECK (length(return_to) <= 2048),
    state text NOT NULL CHECK (length(state) BETWEEN 16 AND 128),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX auth_codes_expiry_idx ON auth_codes (expires_at);
REVOKE ALL ON auth_codes FROM PUBLIC;
GRANT INSERT, SELECT, DELETE ON auth_codes TO metiva_login;
GRANT SELECT, DELETE ON auth_codes TO metiva_app;

-- Brute-force throttling, shared by every login-service instance. Keys are
-- keyed hashes of "account:<email>" or "ip:<address>", never the values.
CREATE TABLE login_throttle (
    key bytea PRIMARY KEY CHECK (length(key) = 32),
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    next_allowed_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON login_throttle FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO metiva_login;

-- Invitations: a pending membership plus a one-time link (only the
-- token's SHA-256 is stored). The link carries the company id, so the
-- login service looks it up under that tenant's context.
CREATE TABLE invitations (
    company_id text NOT NULL REFERENCES companies (id),
    token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
    user_id uuid NOT NULL,
    invited_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    PRIMARY KEY (company_id, token_hash),
    CONSTRAINT invitations_member_fk FOREIGN KEY (company_id, user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE CASCADE
);
CREATE INDEX invitations_user_idx ON invitations (company_id, user_id);
SELECT metiva_apply_tenant_policy('invitations');
GRANT SELECT, INSERT, DELETE ON invitations TO metiva_app;
GRANT SELECT, UPDATE (accepted_at) ON invitations TO metiva_login;

-- The directory: narrow cross-tenant answers for the login service.
CREATE FUNCTION metiva_login_workspaces(p_user uuid)
RETURNS TABLE (company_id text, company_name text, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT m.company_id, c.name, m.role
  FROM memberships m JOIN companies c ON c.id = m.company_id
  WHERE m.user_id = p_user AND m.status = 'active' AND c.status = 'active'
  ORDER BY c.name
$$;

-- Finds or creates the global user for an invitation, returning its id
-- either way, so an inviting workspace learns nothing about whether the
-- address is known elsewhere (and never changes an existing user's name).
CREATE FUNCTION metiva_invite_user(p_email text, p_name text)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  uid uuid;
BEGIN
  INSERT INTO users (email, name) VALUES (lower(p_email), p_name)
  ON CONFLICT (email) DO NOTHING RETURNING id INTO uid;
  IF uid IS NULL THEN
    SELECT id INTO uid FROM users WHERE email = lower(p_email);
  END IF;
  RETURN uid;
END
$$;

GRANT SELECT ON companies, memberships TO metiva_directory;
GRANT SELECT, INSERT ON users TO metiva_directory;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_login_workspaces(uuid) OWNER TO metiva_directory;
ALTER FUNCTION metiva_invite_user(text, text) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_login_workspaces(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION metiva_invite_user(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_login_workspaces(uuid) TO metiva_login;
GRANT EXECUTE ON FUNCTION metiva_invite_user(text, text) TO metiva_app;

-- Access changes notify every instance (LISTEN metiva_access), which drops
-- its membership cache. Statement-level, and only for the columns that
-- change access: recording a sign-in does not flush anyone's cache.
CREATE FUNCTION metiva_notify_access_change() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM pg_notify('metiva_access', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
CREATE TRIGGER memberships_access_change AFTER UPDATE OF role, status OR DELETE ON memberships
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_notify_access_change();
CREATE TRIGGER companies_access_change AFTER UPDATE OF status OR DELETE ON companies
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_notify_access_change();
CREATE TRIGGER sessions_access_change AFTER UPDATE OF revoked_at OR DELETE ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_notify_access_change();

-- Re-checks, inside every dashboard transaction, that the access the
-- request was granted still holds (membership active with the same role,
-- company active, session live). The membership cache makes the guard
-- fast; this makes revocation exact: a request that raced a change fails
-- here, before any of its queries, and the guard re-resolves it.
CREATE FUNCTION metiva_assert_access(p_user uuid, p_session uuid, p_role text) RETURNS void
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM memberships m
    JOIN companies c ON c.id = m.company_id
    JOIN sessions s ON s.id = p_session AND s.user_id = m.user_id
    WHERE m.user_id = p_user AND m.role = p_role AND m.status = 'active' AND c.status = 'active'
      AND s.revoked_at IS NULL AND s.expires_at > now()
  ) THEN
    RAISE EXCEPTION 'metiva: access revoked' USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;
REVOKE ALL ON FUNCTION metiva_assert_access(uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_assert_access(uuid, uuid, text) TO metiva_app;
