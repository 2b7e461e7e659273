-- Cluster-wide roles. Run once per cluster by a superuser (the embedded
-- default runs it itself). Idempotent: safe to run again.
--
-- Security: no LOGIN role created here is a superuser, can bypass RLS, or
-- can create roles or databases. The owner role owns the schema and runs
-- the migrations; the app role (dashboard) and the login role (the login
-- service) own nothing, so FORCE'd row-level security always applies to
-- them.
--
-- The one exception is metiva_directory: NOLOGIN and BYPASSRLS, it only
-- owns a few narrow SECURITY DEFINER functions (the login service's
-- cross-tenant reads, such as "which workspaces does this user belong
-- to"). Nobody can log in as it; only the owner role is a member (to hand
-- it those functions), and the startup checks refuse a runtime role that is
-- a member of it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metiva_owner') THEN
    CREATE ROLE metiva_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metiva_app') THEN
    CREATE ROLE metiva_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metiva_login') THEN
    CREATE ROLE metiva_login LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metiva_directory') THEN
    CREATE ROLE metiva_directory NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
  END IF;
END
$$;
-- Re-assert the attributes in case an operator changed them by hand.
ALTER ROLE metiva_owner NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
ALTER ROLE metiva_app NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
ALTER ROLE metiva_login NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
ALTER ROLE metiva_directory NOLOGIN NOSUPERUSER BYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
-- The owner may hand functions to the directory role (ALTER ... OWNER TO).
GRANT metiva_directory TO metiva_owner;
