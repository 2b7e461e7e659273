-- Each visitor's page-view count, kept on the visitor row (issue 15), so
-- the person page's record statement reads a column instead of counting
-- page views per linked visitor. The count was a SubPlan (an aggregate
-- over an index-only scan of page_views_visitor_idx) that the executor
-- set up on every view of every record, linked visitors or not, and it
-- put page_views and its index among the relations every record view
-- locks (two of the locks past the 16 fast-path slots).
--
-- Exactness: a page view's visitor link is written only when the page
-- view is inserted (the ingest batch's INSERT … LEFT JOIN visitors, the
-- demo seed, the bench's bulk load); the app role may update only the
-- sealed-IP columns of a page view (migration 000044), never visitor_id.
-- Every insert and every delete of page views (ingest, erasure, the
-- retention sweep, offboarding, any later writer) fires the statement
-- triggers below in the writer's own transaction, which add or subtract
-- the statement's rows per visitor, so a snapshot that sees a page view
-- sees it counted. The one other change of visitor_id is the foreign
-- key's ON DELETE SET NULL when the visitor row itself is deleted, and
-- its count goes with it. The count never touches last_seen (the
-- retention sweep's key) nor any other column.
--
-- Locks: every writer of a company's page views first takes that
-- company's rollup mark (migration 000054; the rollup triggers fire
-- before these, by name order), so two writers of one company never run
-- these updates at once. The visitor rows updated are those the ingest
-- batch's own last_seen update already takes, and in the same order
-- (after the mark), so no new wait cycle is possible. The update takes
-- FOR NO KEY UPDATE row locks, which do not conflict with the KEY SHARE
-- locks the page views' foreign key checks take.
--
-- Security: SECURITY INVOKER, run under the writer's binding and its
-- forced RLS on visitors, so a writer bound to one company cannot change
-- another's counts (the composite foreign key keeps a page view's
-- visitor inside its company). Decrements of a visitor that is gone
-- update no row; none is created.
ALTER TABLE visitors
    ADD COLUMN views_count bigint NOT NULL DEFAULT 0 CHECK (views_count >= 0);

CREATE FUNCTION metiva_visitor_view_counts_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  -- Each branch names only the transition table its trigger declares.
  -- A statement with no linked page view (most of ingest: visits counted
  -- at company level only) runs no UPDATE, so it fires no visitors
  -- trigger either.
  IF TG_OP = 'INSERT' THEN
    PERFORM 1 FROM new_rows WHERE visitor_id IS NOT NULL LIMIT 1;
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
    UPDATE visitors v SET views_count = v.views_count + x.n
      FROM (SELECT company_id, visitor_id, count(*) AS n FROM new_rows
             WHERE visitor_id IS NOT NULL GROUP BY 1, 2) x
     WHERE v.company_id = x.company_id AND v.id = x.visitor_id;
  ELSE
    PERFORM 1 FROM old_rows WHERE visitor_id IS NOT NULL LIMIT 1;
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
    UPDATE visitors v SET views_count = v.views_count - x.n
      FROM (SELECT company_id, visitor_id, count(*) AS n FROM old_rows
             WHERE visitor_id IS NOT NULL GROUP BY 1, 2) x
     WHERE v.company_id = x.company_id AND v.id = x.visitor_id;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER page_views_visitor_counts_insert AFTER INSERT ON page_views
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_visitor_view_counts_apply();
CREATE TRIGGER page_views_visitor_counts_delete AFTER DELETE ON page_views
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_visitor_view_counts_apply();

-- The page views that exist, every workspace at once: FORCE lifted for
-- this statement inside the migration's transaction, as in migrations
-- 000059 and 000060 (a per-company loop sees no company under FORCE'd RLS).
ALTER TABLE visitors NO FORCE ROW LEVEL SECURITY;
ALTER TABLE page_views NO FORCE ROW LEVEL SECURITY;
UPDATE visitors v
   SET views_count = x.n
  FROM (SELECT company_id, visitor_id, count(*) AS n FROM page_views
         WHERE visitor_id IS NOT NULL GROUP BY 1, 2) x
 WHERE v.company_id = x.company_id AND v.id = x.visitor_id;
ALTER TABLE visitors FORCE ROW LEVEL SECURITY;
ALTER TABLE page_views FORCE ROW LEVEL SECURITY;
