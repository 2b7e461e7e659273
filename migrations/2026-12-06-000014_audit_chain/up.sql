-- The audit log as a hash chain per company (issue 16): each row stores
-- its position in its company's chain (seq, from 1), the hash of the row
-- before it (prev_hash; 32 zero bytes for the first) and its own hash:
--
--   hash = SHA-256(prev_hash ‖ field("metiva.audit.v1") ‖ field(company_id)
--                  ‖ field(seq) ‖ field(id) ‖ field(at) ‖ field(actor_user_id)
--                  ‖ field(action) ‖ field(target_type) ‖ field(target_id)
--                  ‖ field(request_id) ‖ field(reason))
--
-- field(NULL) = ffffffff; field(v) = u32 big-endian byte length ‖ bytes,
-- where text is its UTF-8, a uuid its 16 bytes, and seq, id and at (whole
-- microseconds since 1970-01-01 UTC, as PostgreSQL stores timestamps) are
-- i64 big-endian. `metiva audit verify` recomputes this in Rust from the
-- stored fields (metiva_db::audit_chain); the two must agree byte for byte.
--
-- Security:
-- * The chain is computed by a BEFORE INSERT trigger, so every writer (the
--   dashboard, the login service, the demo seed, a hand-written INSERT)
--   chains, and a caller cannot choose seq, prev_hash or hash: the trigger
--   overwrites them.
-- * Appends are serialised per company by a transaction-level advisory
--   lock taken in the trigger; the trigger then reads the chain's head with
--   a fresh snapshot (READ COMMITTED), so concurrent writers queue up
--   instead of forking. UNIQUE (company_id, seq) is the backstop: a writer
--   whose snapshot predates the head (REPEATABLE READ) fails, never forks.
-- * The trigger is SECURITY INVOKER and runs under the writer's tenant
--   binding (FORCE'd RLS): it sees only its own company's head. The login
--   service may therefore read the three columns the head needs.
-- * A hash chain detects a changed, inserted, reordered or deleted row,
--   but not rows cut off the end: anchoring the head elsewhere (the daily
--   verify) is a later step.

ALTER TABLE audit_log
    ADD COLUMN seq bigint,
    ADD COLUMN prev_hash bytea CHECK (length(prev_hash) = 32),
    ADD COLUMN hash bytea CHECK (length(hash) = 32);

-- One canonical field: NULL is ffffffff, anything else its length and bytes.
CREATE FUNCTION metiva_audit_field(v bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
  SELECT CASE WHEN v IS NULL THEN '\xffffffff'::bytea ELSE int4send(length(v)) || v END
$$;

CREATE FUNCTION metiva_audit_hash(
    p_prev bytea, p_company text, p_seq bigint, p_id bigint, p_at timestamptz,
    p_actor uuid, p_action text, p_target_type text, p_target_id text,
    p_request_id text, p_reason text
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = public, pg_temp AS $$
  SELECT sha256(
    p_prev
    || metiva_audit_field(convert_to('metiva.audit.v1', 'UTF8'))
    || metiva_audit_field(convert_to(p_company, 'UTF8'))
    || metiva_audit_field(int8send(p_seq))
    || metiva_audit_field(int8send(p_id))
    || metiva_audit_field(int8send((extract(epoch FROM p_at) * 1000000)::bigint))
    || metiva_audit_field(uuid_send(p_actor))
    || metiva_audit_field(convert_to(p_action, 'UTF8'))
    || metiva_audit_field(convert_to(p_target_type, 'UTF8'))
    || metiva_audit_field(convert_to(p_target_id, 'UTF8'))
    || metiva_audit_field(convert_to(p_request_id, 'UTF8'))
    || metiva_audit_field(convert_to(p_reason, 'UTF8')))
$$;

-- Backfill: chain the existing rows of every company in id order. The
-- owner is exempt from RLS only between NO FORCE and FORCE, inside this
-- migration's transaction.
ALTER TABLE audit_log NO FORCE ROW LEVEL SECURITY;
DO $$
DECLARE
  r record;
  cur_company text := NULL;
  n bigint := 0;
  prev bytea;
BEGIN
  FOR r IN SELECT * FROM audit_log ORDER BY company_id, id LOOP
    IF cur_company IS DISTINCT FROM r.company_id THEN
      cur_company := r.company_id;
      n := 0;
      prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    END IF;
    n := n + 1;
    UPDATE audit_log
       SET seq = n,
           prev_hash = prev,
           hash = metiva_audit_hash(prev, r.company_id, n, r.id, r.at, r.actor_user_id,
                                    r.action, r.target_type, r.target_id, r.request_id, r.reason)
     WHERE company_id = r.company_id AND id = r.id
     RETURNING hash INTO prev;
  END LOOP;
END
$$;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;

ALTER TABLE audit_log
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT audit_log_chain_seq UNIQUE (company_id, seq);

CREATE FUNCTION metiva_audit_chain() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  head record;
BEGIN
  -- One appender per company at a time, until its transaction ends.
  -- 0x6d617564 is 'maud': this lock's class, apart from any other.
  PERFORM pg_advisory_xact_lock(1835103588, hashtext(NEW.company_id));
  SELECT a.seq, a.hash INTO head FROM audit_log a
   WHERE a.company_id = NEW.company_id ORDER BY a.seq DESC LIMIT 1;
  NEW.seq := coalesce(head.seq, 0) + 1;
  NEW.prev_hash := coalesce(head.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  NEW.hash := metiva_audit_hash(NEW.prev_hash, NEW.company_id, NEW.seq, NEW.id, NEW.at,
                                NEW.actor_user_id, NEW.action, NEW.target_type,
                                NEW.target_id, NEW.request_id, NEW.reason);
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION metiva_audit_chain() FROM PUBLIC;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION metiva_audit_chain();

-- The trigger reads the head as the writer: the login service writes
-- audit rows (sign-in), so it may read the chain columns, never the rest.
GRANT SELECT (company_id, seq, hash) ON audit_log TO metiva_login;

-- `metiva audit verify` checks every company's chain. It reads each chain
-- under that company's own tenant binding (RLS intact); the one thing it
-- needs across tenants is the list of company ids, which this narrow
-- directory function answers, for the owner role (the operator's
-- commands) only.
CREATE FUNCTION metiva_audit_companies()
RETURNS TABLE (company_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.id FROM companies c ORDER BY c.id
$$;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_audit_companies() OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_audit_companies() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_audit_companies() TO metiva_owner;
