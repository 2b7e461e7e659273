-- Token signing keys (issue 19): the login service's Ed25519 keys, kept in
-- PostgreSQL so that every instance signs and verifies with the same set
-- and a rotation reaches all of them (NOTIFY metiva_cache, 'signing_keys').
--
-- States: 'next' (published, verifies, never signs yet), 'current' (signs;
-- exactly one), 'retired' (verifies tokens issued before retired_at until
-- they expire, never longer; see server::signing_keys).
--
-- Global, not tenant data (no company_id). The private seed is sealed with
-- the master encryption key (field cipher, bound to this table, column
-- and kid) and only the login role may read it; the dashboard's role
-- (metiva_app) sees public keys and times only, as DESIGN.md's "the app
-- holds only the public key" demands. Only the owner (`metiva keys
-- rotate-signing`, run as the migration role) writes.
CREATE TABLE token_signing_keys (
    kid text PRIMARY KEY CHECK (kid ~ '^ed-[0-9a-f]{12}$'),
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    seed_key_id text NOT NULL,
    seed_nonce bytea NOT NULL CHECK (length(seed_nonce) = 12),
    seed_ciphertext bytea NOT NULL,
    state text NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    retired_at timestamptz,
    CONSTRAINT token_signing_keys_current CHECK (state <> 'current' OR activated_at IS NOT NULL),
    CONSTRAINT token_signing_keys_retired CHECK (state <> 'retired' OR retired_at IS NOT NULL)
);
-- At most one current and one next key.
CREATE UNIQUE INDEX token_signing_keys_one_current ON token_signing_keys (state)
    WHERE state IN ('current', 'next');
REVOKE ALL ON token_signing_keys FROM PUBLIC;
GRANT SELECT ON token_signing_keys TO metiva_login;
GRANT SELECT (kid, public_key, state, created_at, activated_at, retired_at)
    ON token_signing_keys TO metiva_app;

-- Cross-instance cache invalidation: one channel, the payload names the
-- cache. Statement-level, fired in the changing transaction (delivered at
-- COMMIT, never for a rollback).
CREATE FUNCTION metiva_notify_cache() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM pg_notify('metiva_cache', TG_ARGV[0]);
  RETURN NULL;
END
$$;
CREATE TRIGGER token_signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON token_signing_keys
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_notify_cache('signing_keys');
