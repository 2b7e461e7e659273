-- Tenancy: the global tables (companies, users) and the first tenant tables
-- (memberships, persons, deals, audit_log), all under row-level security.
--
-- Security, for every tenant table:
-- * it carries company_id, and every index on it leads with company_id;
-- * references to other tenant tables are composite (company_id, x_id),
--   because foreign-key checks bypass RLS;
-- * RLS is ENABLED and FORCED, with a permissive base policy and a
--   RESTRICTIVE tenant policy (USING and WITH CHECK) in the NULLIF form, so a
--   later permissive policy can never widen it;
-- * the app role gets no TRUNCATE (it ignores RLS); the audit log is
--   INSERT/SELECT only.

-- The tenant context of the current transaction. NULLIF turns the '' that a
-- reused pooled connection reports into NULL, which matches nothing.
-- (Policies inline the expression; the function is for the self-test.)

-- Applies the standard tenant policies to a table. SECURITY INVOKER and
-- owned by metiva_owner (migrations never run as a superuser).
CREATE FUNCTION metiva_apply_tenant_policy(tbl regclass) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY tenant_base ON %s AS PERMISSIVE FOR ALL USING (true) WITH CHECK (true)', tbl);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s AS RESTRICTIVE FOR ALL '
    'USING (company_id = (SELECT NULLIF(current_setting(''app.company_id'', true), '''')::text)) '
    'WITH CHECK (company_id = (SELECT NULLIF(current_setting(''app.company_id'', true), '''')::text))',
    tbl);
  EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', tbl);
END
$$;
REVOKE ALL ON FUNCTION metiva_apply_tenant_policy(regclass) FROM PUBLIC;

-- Companies: the tenants themselves. Global (no company_id column), but the
-- app role sees only the company of its current context.
CREATE TABLE companies (
    id text PRIMARY KEY CONSTRAINT companies_id_format CHECK (id ~ '^cmp_[0-9a-f]{6}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE companies FORCE ROW LEVEL SECURITY;
CREATE POLICY company_base ON companies AS PERMISSIVE FOR ALL USING (true) WITH CHECK (true);
CREATE POLICY company_isolation ON companies AS RESTRICTIVE FOR ALL
  USING (id = (SELECT NULLIF(current_setting('app.company_id', true), '')::text))
  WITH CHECK (id = (SELECT NULLIF(current_setting('app.company_id', true), '')::text));
REVOKE ALL ON companies FROM PUBLIC;
GRANT SELECT, UPDATE (name, status) ON companies TO metiva_app;

-- Users: global identities (agency staff). The password hash is never
-- readable by the app role (column grants); the login service reads it
-- through its own narrowly named path.
CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1 AND length(email) <= 254),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);
REVOKE ALL ON users FROM PUBLIC;

-- Memberships: who belongs to which company, in which role.
CREATE TABLE memberships (
    company_id text NOT NULL REFERENCES companies (id),
    user_id uuid NOT NULL REFERENCES users (id),
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'account_manager', 'sales', 'marketing', 'finance', 'member', 'viewer')),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('invited', 'active', 'suspended')),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at timestamptz,
    PRIMARY KEY (company_id, user_id)
);
SELECT metiva_apply_tenant_policy('memberships');
GRANT SELECT, INSERT, UPDATE, DELETE ON memberships TO metiva_app;

-- The app role sees a user only through a membership of the current
-- company (memberships is itself tenant-filtered), and never the hash.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_visible_to_app ON users FOR SELECT TO metiva_app
  USING (EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id));
GRANT SELECT (id, email, name, created_at) ON users TO metiva_app;

-- Persons: contacts and leads.
CREATE TABLE persons (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email text CHECK (email IS NULL OR (email = lower(email) AND length(email) <= 254)),
    phone text CHECK (phone IS NULL OR length(phone) <= 40),
    organisation text CHECK (organisation IS NULL OR length(organisation) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT persons_email_key UNIQUE (company_id, email)
);
CREATE INDEX persons_name_idx ON persons (company_id, name);
SELECT metiva_apply_tenant_policy('persons');
GRANT SELECT, INSERT, UPDATE, DELETE ON persons TO metiva_app;

-- Deals: value in cents, a stage, an owner (a member) and a linked person.
CREATE TABLE deals (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    value_cents bigint NOT NULL DEFAULT 0 CHECK (value_cents >= 0),
    currency text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    stage text NOT NULL DEFAULT 'lead' CHECK (stage IN ('lead', 'qualified', 'proposal', 'won', 'lost')),
    owner_user_id uuid,
    person_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT deals_person_fk FOREIGN KEY (company_id, person_id)
        REFERENCES persons (company_id, id) ON DELETE SET NULL (person_id),
    CONSTRAINT deals_owner_fk FOREIGN KEY (company_id, owner_user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE SET NULL (owner_user_id)
);
CREATE INDEX deals_person_idx ON deals (company_id, person_id);
CREATE INDEX deals_stage_idx ON deals (company_id, stage);
SELECT metiva_apply_tenant_policy('deals');
GRANT SELECT, INSERT, UPDATE, DELETE ON deals TO metiva_app;

-- The audit log: ids only, never personal data. Append-only for the app.
CREATE TABLE audit_log (
    company_id text NOT NULL REFERENCES companies (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT now(),
    actor_user_id uuid,
    action text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)*$'),
    target_type text,
    target_id text,
    request_id text,
    PRIMARY KEY (company_id, id)
);
CREATE INDEX audit_log_action_idx ON audit_log (company_id, action, at DESC);
SELECT metiva_apply_tenant_policy('audit_log');
GRANT SELECT, INSERT ON audit_log TO metiva_app;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO metiva_app;
