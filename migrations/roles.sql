-- Cluster-wide roles. Run once per cluster by a superuser (the embedded
-- default runs it itself). Idempotent: safe to run again.
--
-- Security: no role created here is a superuser, can bypass RLS, or can
-- create roles or databases. The owner role owns the schema and runs the
-- migrations; the app role owns nothing, so FORCE'd row-level security
-- always applies to it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metiva_owner') THEN
    CREATE ROLE metiva_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metiva_app') THEN
    CREATE ROLE metiva_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
  END IF;
END
$$;
-- Re-assert the attributes in case an operator changed them by hand.
ALTER ROLE metiva_owner NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
ALTER ROLE metiva_app NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
