-- The audit log's reason becomes a fixed code plus an optional short note
-- (issue 16). Until now an IP reveal stored the member's free text in
-- audit_log.reason; from here on `reason` holds a code from a fixed list
-- (for a reveal: abuse_report, security_incident, legal_request,
-- subject_request, other) and `note` an optional short text the form asks
-- not to fill with personal data. The note lives in the audit row, so the
-- audit retention sweep removes it with the row.
--
-- The hash chain: a new format, metiva.audit.v2, hashes the note too:
--
--   hash = SHA-256(prev_hash ‖ field("metiva.audit.v2") ‖ field(company_id)
--                  ‖ field(seq) ‖ field(id) ‖ field(at) ‖ field(actor_user_id)
--                  ‖ field(action) ‖ field(target_type) ‖ field(target_id)
--                  ‖ field(request_id) ‖ field(reason) ‖ field(note))
--
-- Each row records the format it was hashed under (`format`): existing rows
-- keep 1 and their v1 hashes, so existing chains still verify unchanged;
-- the trigger writes 2 for every new row. `format` needs no field of its
-- own: the version tag is the first hashed field, so a row whose format
-- is flipped no longer matches its hash.
--
-- Security:
-- * New rows' reason must look like a code (lower case, digits, _ and .):
--   the CHECK is NOT VALID, so it binds every new row without judging the
--   free text already chained in old rows (rewriting those would break
--   their hashes; they leave with the audit retention sweep).
-- * The note is short (1 to 200 characters) and has no control
--   characters; the domain also refuses one that looks like an email.
-- * The trigger stays SECURITY INVOKER and overwrites format, seq,
--   prev_hash and hash: a writer cannot pick the older format.

ALTER TABLE audit_log
    ADD COLUMN note text
        CHECK (note IS NULL OR (length(note) BETWEEN 1 AND 200 AND note !~ '[[:cntrl:]]')),
    ADD COLUMN format smallint NOT NULL DEFAULT 1 CHECK (format IN (1, 2));
ALTER TABLE audit_log ALTER COLUMN format SET DEFAULT 2;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_reason_code
    CHECK (reason IS NULL OR reason ~ '^[a-z][a-z0-9_.]{0,62}$') NOT VALID;

CREATE FUNCTION metiva_audit_hash_v2(
    p_prev bytea, p_company text, p_seq bigint, p_id bigint, p_at timestamptz,
    p_actor uuid, p_action text, p_target_type text, p_target_id text,
    p_request_id text, p_reason text, p_note text
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = public, pg_temp AS $$
  SELECT sha256(
    p_prev
    || metiva_audit_field(convert_to('metiva.audit.v2', 'UTF8'))
    || metiva_audit_field(convert_to(p_company, 'UTF8'))
    || metiva_audit_field(int8send(p_seq))
    || metiva_audit_field(int8send(p_id))
    || metiva_audit_field(int8send((extract(epoch FROM p_at) * 1000000)::bigint))
    || metiva_audit_field(uuid_send(p_actor))
    || metiva_audit_field(convert_to(p_action, 'UTF8'))
    || metiva_audit_field(convert_to(p_target_type, 'UTF8'))
    || metiva_audit_field(convert_to(p_target_id, 'UTF8'))
    || metiva_audit_field(convert_to(p_request_id, 'UTF8'))
    || metiva_audit_field(convert_to(p_reason, 'UTF8'))
    || metiva_audit_field(convert_to(p_note, 'UTF8')))
$$;

CREATE OR REPLACE FUNCTION metiva_audit_chain() RETURNS trigger
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
  NEW.format := 2;
  NEW.hash := metiva_audit_hash_v2(NEW.prev_hash, NEW.company_id, NEW.seq, NEW.id, NEW.at,
                                   NEW.actor_user_id, NEW.action, NEW.target_type,
                                   NEW.target_id, NEW.request_id, NEW.reason, NEW.note);
  RETURN NEW;
END
$$;
