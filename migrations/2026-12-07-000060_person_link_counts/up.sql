-- Each contact's deal and visitor counts, kept on the person row (issue
-- 15), so a page of the person list is one index range scan on
-- persons_updated_id_idx instead of that scan plus two grouped index
-- probes per row into deals and visitors (51 rows: 257 buffers and two
-- sorts against 53 buffers).
--
-- Exactness: every change to a deal's or a visitor's person link fires
-- the statement triggers below in the writer's own transaction (create,
-- edit, delete, a consented capture linking a visitor, erasure clearing
-- links, a person's deletion setting links NULL by ON DELETE SET NULL,
-- offboarding, imports), so a snapshot that sees a link sees its count.
-- Edits that keep the link (a visitor's last_seen, a deal's stage) net to
-- zero and write nothing. The counts never touch updated_at: the list's
-- order and the retention sweep (by updated_at) are unchanged.
--
-- Deadlocks: the persons rows a statement changes are locked in key
-- order first. For deals the company's deal-count lock (migration 000059,
-- the same advisory class) is taken before them, so a deal writer always
-- takes that lock, then person rows, never the reverse.
--
-- Security: the triggers are SECURITY INVOKER and run under the writer's
-- binding and its forced RLS on persons, so a writer bound to one company
-- cannot change another's counts (its rows are not visible to the
-- UPDATE; the composite foreign keys keep a link inside its company).
-- Decrements of a person that is gone update no row; none is created.
--
-- Also (at the end): organisations.name_key, the visitors page's CRM
-- name match by index.
ALTER TABLE persons
    ADD COLUMN deals_count bigint NOT NULL DEFAULT 0 CHECK (deals_count >= 0),
    ADD COLUMN visitors_count bigint NOT NULL DEFAULT 0 CHECK (visitors_count >= 0);

CREATE FUNCTION metiva_person_link_counts_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  cs text[];
  ps uuid[];
  ds bigint[];
BEGIN
  -- Each branch names only the transition tables its trigger declares.
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(company_id ORDER BY company_id, person_id), array_agg(person_id ORDER BY company_id, person_id),
           array_agg(n ORDER BY company_id, person_id)
      INTO cs, ps, ds
      FROM (SELECT company_id, person_id, count(*) AS n FROM new_rows
             WHERE person_id IS NOT NULL GROUP BY 1, 2) x;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(company_id ORDER BY company_id, person_id), array_agg(person_id ORDER BY company_id, person_id),
           array_agg(n ORDER BY company_id, person_id)
      INTO cs, ps, ds
      FROM (SELECT company_id, person_id, -count(*) AS n FROM old_rows
             WHERE person_id IS NOT NULL GROUP BY 1, 2) x;
  ELSE
    SELECT array_agg(company_id ORDER BY company_id, person_id), array_agg(person_id ORDER BY company_id, person_id),
           array_agg(n ORDER BY company_id, person_id)
      INTO cs, ps, ds
      FROM (SELECT company_id, person_id, sum(d) AS n
              FROM (SELECT company_id, person_id, 1 AS d FROM new_rows WHERE person_id IS NOT NULL
                    UNION ALL
                    SELECT company_id, person_id, -1 AS d FROM old_rows WHERE person_id IS NOT NULL) m
             GROUP BY 1, 2
            HAVING sum(d) <> 0) x;
  END IF;
  IF cs IS NULL THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'deals' THEN
    PERFORM pg_advisory_xact_lock(1835299683, hashtext(c))
       FROM (SELECT DISTINCT c FROM unnest(cs) AS u(c) ORDER BY 1) q;
  END IF;
  PERFORM 1 FROM persons p
    JOIN unnest(cs, ps) AS u(c, i) ON p.company_id = u.c AND p.id = u.i
   ORDER BY p.company_id, p.id
     FOR UPDATE OF p;
  IF TG_TABLE_NAME = 'deals' THEN
    UPDATE persons p SET deals_count = p.deals_count + u.d
      FROM unnest(cs, ps, ds) AS u(c, i, d)
     WHERE p.company_id = u.c AND p.id = u.i;
  ELSE
    UPDATE persons p SET visitors_count = p.visitors_count + u.d
      FROM unnest(cs, ps, ds) AS u(c, i, d)
     WHERE p.company_id = u.c AND p.id = u.i;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER deals_person_counts_insert AFTER INSERT ON deals
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_person_link_counts_apply();
CREATE TRIGGER deals_person_counts_update AFTER UPDATE ON deals
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_person_link_counts_apply();
CREATE TRIGGER deals_person_counts_delete AFTER DELETE ON deals
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_person_link_counts_apply();
CREATE TRIGGER visitors_person_counts_insert AFTER INSERT ON visitors
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_person_link_counts_apply();
CREATE TRIGGER visitors_person_counts_update AFTER UPDATE ON visitors
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_person_link_counts_apply();
CREATE TRIGGER visitors_person_counts_delete AFTER DELETE ON visitors
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_person_link_counts_apply();

-- The links that exist, every workspace at once: FORCE lifted for this
-- statement inside the migration's transaction, as in migration 000059
-- (a per-company loop sees no company under FORCE'd RLS).
ALTER TABLE persons NO FORCE ROW LEVEL SECURITY;
ALTER TABLE deals NO FORCE ROW LEVEL SECURITY;
ALTER TABLE visitors NO FORCE ROW LEVEL SECURITY;
UPDATE persons p
   SET deals_count = COALESCE((SELECT count(*) FROM deals d
                                WHERE d.company_id = p.company_id AND d.person_id = p.id), 0),
       visitors_count = COALESCE((SELECT count(*) FROM visitors v
                                   WHERE v.company_id = p.company_id AND v.person_id = p.id), 0)
 WHERE EXISTS (SELECT 1 FROM deals d WHERE d.company_id = p.company_id AND d.person_id = p.id)
    OR EXISTS (SELECT 1 FROM visitors v WHERE v.company_id = p.company_id AND v.person_id = p.id);
ALTER TABLE persons FORCE ROW LEVEL SECURITY;
ALTER TABLE deals FORCE ROW LEVEL SECURITY;
ALTER TABLE visitors FORCE ROW LEVEL SECURITY;

-- The visitors page matches its top organisations to CRM organisations
-- by lowercased name. `lower()` is not LEAKPROOF, so under forced RLS an
-- expression index on lower(name) is never used and every view hashed
-- all of the workspace's organisations (1,000: 0.54 ms in the generic
-- plan). A stored lowercased copy with a plain index is matched with
-- text equality, which is LEAKPROOF, so the index condition is allowed
-- (0.14 ms, two index probes per shown name). Generated by PostgreSQL
-- itself, so no writer can set it out of step with the name.
ALTER TABLE organisations
    ADD COLUMN name_key text GENERATED ALWAYS AS (lower(name)) STORED;
CREATE INDEX organisations_name_key_idx ON organisations (company_id, name_key);
