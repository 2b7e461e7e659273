-- Audit retention (issue 16): the hourly sweep removes audit rows older
-- than the workspace's audit period (retention_settings.audit_months,
-- 12..120, default 24), oldest first, at most 5,000 per transaction, and
-- cuts the hash chain with a signed checkpoint row per batch.
--
-- A checkpoint says: the chain's rows first_seq..through_seq (`removed`
-- of them, written between from_at and to_at) were removed; the last one's
-- hash was last_hash, so the first kept row (through_seq + 1) still links
-- to it. `signature` is HMAC-SHA-256 over those fields under a key derived
-- from the company's data key (key_id names it), computed by the app:
--
--   signature = HMAC(HKDF(DEK, "metiva audit checkpoint mac v1"),
--                    field("metiva.audit.checkpoint.v1") ‖ field(company_id)
--                    ‖ field(first_seq) ‖ field(through_seq)
--                    ‖ field(last_hash) ‖ field(removed) ‖ field(from_at)
--                    ‖ field(to_at) ‖ field(key_id))
--
-- (field() as the chain's: u32 big-endian length ‖ bytes; numbers and
-- times as i64 big-endian, times in microseconds). `metiva audit verify`
-- checks every checkpoint's signature and that they follow one another
-- from seq 1, then walks the kept rows from the last one.
--
-- Security:
-- * The app role still may not DELETE audit rows (the catalog lint's
--   audit_log_append_only rule). The one way to remove them is
--   metiva_audit_cut(), SECURITY DEFINER owned by the migration owner
--   (not a superuser, no BYPASSRLS: FORCE'd RLS still binds it to the
--   caller's tenant), which removes only a prefix of the current tenant's
--   chain, only rows older than that tenant's audit period (never under
--   12 months), never the chain's head (the next append links to it), and
--   only while inserting the checkpoint that matches what it removed
--   (count, last hash, time range, following the previous checkpoint).
-- * The database cannot check the signature (it never sees the key); it
--   makes the checkpoint true to the rows, and the key makes it
--   unforgeable: an administrator who edits a checkpoint, deletes rows
--   with a fake one, or deletes a checkpoint is named by the verify.
-- * The app role may read checkpoints; nobody but that function writes
--   them (no INSERT, UPDATE or DELETE grant).

CREATE TABLE audit_checkpoints (
    company_id text NOT NULL REFERENCES companies (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    created_at timestamptz NOT NULL DEFAULT now(),
    first_seq bigint NOT NULL CHECK (first_seq >= 1),
    through_seq bigint NOT NULL,
    last_hash bytea NOT NULL CHECK (length(last_hash) = 32),
    removed bigint NOT NULL,
    from_at timestamptz NOT NULL,
    to_at timestamptz NOT NULL,
    key_id text NOT NULL CHECK (length(key_id) BETWEEN 1 AND 100),
    signature bytea NOT NULL CHECK (length(signature) = 32),
    CHECK (through_seq >= first_seq),
    CHECK (removed = through_seq - first_seq + 1),
    CHECK (from_at <= to_at),
    PRIMARY KEY (company_id, id),
    UNIQUE (company_id, through_seq)
);
SELECT metiva_apply_tenant_policy('audit_checkpoints');
GRANT SELECT ON audit_checkpoints TO metiva_app;

-- The sweep's count of audit rows removed.
ALTER TABLE retention_sweeps
    ADD COLUMN audit_rows bigint NOT NULL DEFAULT 0 CHECK (audit_rows >= 0);

-- A checkpoint that fails its signature is a break of its own kind.
ALTER TABLE audit_chain_checks DROP CONSTRAINT audit_chain_checks_broken_kind_check;
ALTER TABLE audit_chain_checks ADD CONSTRAINT audit_chain_checks_broken_kind_check
    CHECK (broken_kind IN ('gap', 'altered', 'unlinked', 'truncated', 'rewritten', 'checkpoint'));

-- Removes the current tenant's chain prefix up to p_through_seq and
-- records its checkpoint, or raises (nothing removed). Answers the count.
CREATE FUNCTION metiva_audit_cut(
    p_through_seq bigint, p_last_hash bytea, p_removed bigint,
    p_from timestamptz, p_to timestamptz, p_key_id text, p_signature bytea
) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  company text := NULLIF(current_setting('app.company_id', true), '');
  months integer;
  first_kept bigint;
  head bigint;
  prev_through bigint;
  cut record;
  n bigint;
BEGIN
  IF company IS NULL THEN
    RAISE EXCEPTION 'metiva_audit_cut: no tenant bound' USING ERRCODE = '42501';
  END IF;
  IF p_removed < 1 OR p_removed > 5000 THEN
    RAISE EXCEPTION 'metiva_audit_cut: 1 to 5000 rows per cut' USING ERRCODE = '22023';
  END IF;
  -- Appends wait: the chain does not move while it is cut.
  PERFORM pg_advisory_xact_lock(1835103588, hashtext(company));
  SELECT greatest(12, coalesce(min(s.audit_months), 24)) INTO months
    FROM retention_settings s WHERE s.company_id = company;
  SELECT min(a.seq), max(a.seq) INTO first_kept, head
    FROM audit_log a WHERE a.company_id = company;
  SELECT max(c.through_seq) INTO prev_through
    FROM audit_checkpoints c WHERE c.company_id = company;
  IF first_kept IS NULL OR first_kept <> coalesce(prev_through, 0) + 1 THEN
    RAISE EXCEPTION 'metiva_audit_cut: the chain does not start after the last checkpoint'
      USING ERRCODE = '55000';
  END IF;
  IF p_through_seq >= head THEN
    RAISE EXCEPTION 'metiva_audit_cut: the chain''s head stays' USING ERRCODE = '22023';
  END IF;
  SELECT count(*) AS removed, min(a.at) AS from_at, max(a.at) AS to_at,
         (array_agg(a.hash ORDER BY a.seq DESC))[1] AS last_hash
    INTO cut
    FROM audit_log a
   WHERE a.company_id = company AND a.seq BETWEEN first_kept AND p_through_seq;
  IF cut.removed <> p_removed OR p_removed <> p_through_seq - first_kept + 1
     OR cut.last_hash IS DISTINCT FROM p_last_hash
     OR cut.from_at IS DISTINCT FROM p_from OR cut.to_at IS DISTINCT FROM p_to THEN
    RAISE EXCEPTION 'metiva_audit_cut: the checkpoint does not match the rows' USING ERRCODE = '22023';
  END IF;
  IF cut.to_at >= now() - make_interval(months => months) THEN
    RAISE EXCEPTION 'metiva_audit_cut: rows inside the audit period' USING ERRCODE = '22023';
  END IF;
  INSERT INTO audit_checkpoints (company_id, first_seq, through_seq, last_hash, removed,
                                 from_at, to_at, key_id, signature)
  VALUES (company, first_kept, p_through_seq, p_last_hash, p_removed, p_from, p_to,
          p_key_id, p_signature);
  DELETE FROM audit_log a
   WHERE a.company_id = company AND a.seq BETWEEN first_kept AND p_through_seq;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n <> p_removed THEN
    RAISE EXCEPTION 'metiva_audit_cut: removed % rows, expected %', n, p_removed USING ERRCODE = '55000';
  END IF;
  RETURN n;
END
$$;
REVOKE ALL ON FUNCTION metiva_audit_cut(bigint, bytea, bigint, timestamptz, timestamptz, text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_audit_cut(bigint, bytea, bigint, timestamptz, timestamptz, text, bytea) TO metiva_app;
