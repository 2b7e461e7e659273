-- The move of values sealed under the master key to their workspace's
-- data key (DEK) runs on the job runner (issue 16), as the app role, one
-- batch per job transaction; `metiva keys migrate-values` (owner role)
-- stays for operators.
--
-- Security:
-- * The app role may update only the three sealed-IP columns of a page
--   view, and only one way: the trigger refuses any update of them unless
--   the old key id is a master key's and the new one a DEK's (`d-…`). A
--   compromised app cannot re-seal a value back under the master key,
--   move it between DEKs, or touch any other column of the row. It could
--   write garbage in place of a not-yet-moved IP, which the row's
--   associated data (company, table, column, row) then refuses to open:
--   it can destroy such a value, as it can delete page views anyway
--   (retention), never forge or read one.
-- * The trigger fires only when an update names these columns, so the
--   foreign keys' own updates (a visitor's removal unlinks its page
--   views) are unaffected; it binds the app role only (the owner role's
--   `metiva keys` commands and an operator's repairs are trusted).
GRANT UPDATE (ip_key_id, ip_nonce, ip_ciphertext) ON page_views TO metiva_app;

CREATE FUNCTION metiva_page_view_reseal_to_dek_only() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  IF current_user = 'metiva_app'
     AND (OLD.ip_key_id LIKE 'd-%' OR NEW.ip_key_id NOT LIKE 'd-%') THEN
    RAISE EXCEPTION 'metiva: a sealed IP only moves from a master key to a data key'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER page_views_reseal_to_dek_only
  BEFORE UPDATE OF ip_key_id, ip_nonce, ip_ciphertext ON page_views
  FOR EACH ROW EXECUTE FUNCTION metiva_page_view_reseal_to_dek_only();

-- The values still to move, found without scanning every page view (the
-- job and the security page's count).
CREATE INDEX page_views_master_sealed_idx ON page_views (company_id)
  WHERE ip_key_id NOT LIKE 'd-%';
