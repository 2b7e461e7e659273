CREATE OR REPLACE FUNCTION metiva_audit_chain() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  head record;
BEGIN
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
DROP FUNCTION metiva_audit_hash_v2(bytea, text, bigint, bigint, timestamptz, uuid, text, text, text, text, text, text);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_reason_code;
ALTER TABLE audit_log DROP COLUMN format, DROP COLUMN note;
