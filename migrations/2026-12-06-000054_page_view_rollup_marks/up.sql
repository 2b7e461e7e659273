-- A version per company of its page-view rollups (issue 15), so the
-- visitors page can keep the window it computed from page_view_daily and
-- reuse it while nothing changed: the statement that aggregates the
-- window's rollup rows (6,330 at 1,000,000 page views) ran on every view.
--
-- Exactness: every change to a company's rollups goes through the
-- statement triggers on page_views (or metiva_rebuild_page_view_rollups),
-- and each of them bumps the company's version in the same transaction.
-- So two snapshots that read the same version see the same rollups, and a
-- reader that reads the version in its own snapshot knows whether a kept
-- window is still exactly what a recount would give (the window also
-- depends on the UTC day, which the reader checks too).
--
-- Contention: the mark is one row per company. Ingest batches of one
-- company already serialise on that day's rollup rows (the same pages
-- are upserted by every batch), so this adds no new wait; the triggers
-- take the mark first, so it orders every rollup writer of a company.
--
-- Forced RLS like every tenant table: the triggers run as the writer, so
-- a writer bound to one company cannot bump another's version.
CREATE TABLE page_view_rollup_marks (
    company_id text NOT NULL REFERENCES companies (id),
    version bigint NOT NULL CHECK (version > 0),
    PRIMARY KEY (company_id)
);
SELECT metiva_apply_tenant_policy('page_view_rollup_marks');
GRANT SELECT, INSERT, UPDATE ON page_view_rollup_marks TO metiva_app;

CREATE OR REPLACE FUNCTION metiva_page_view_daily_add() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  -- The company's mark first (see the table): every rollup writer of a
  -- company takes this one row before any rollup row, so writers with
  -- several statements in one transaction cannot deadlock on rollup rows.
  INSERT INTO page_view_rollup_marks AS m (company_id, version)
  SELECT DISTINCT company_id, 1 FROM new_rows
  ORDER BY 1
  ON CONFLICT (company_id) DO UPDATE SET version = m.version + 1;
  -- Ordered by key, so concurrent batches lock rollup rows in one order
  -- and cannot deadlock each other.
  INSERT INTO page_view_daily AS d (company_id, day, organisation, org_source, path, views, first_at, last_at)
  SELECT company_id, (at AT TIME ZONE 'UTC')::date, organisation, org_source, path, count(*), min(at), max(at)
  FROM new_rows
  GROUP BY 1, 2, 3, 4, 5
  ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT ON CONSTRAINT page_view_daily_key DO UPDATE
    SET views = d.views + EXCLUDED.views,
        first_at = LEAST(d.first_at, EXCLUDED.first_at),
        last_at = GREATEST(d.last_at, EXCLUDED.last_at);
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION metiva_page_view_daily_remove() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  -- The mark first, as in metiva_page_view_daily_add. No insert: a
  -- company with page views has its mark (the insert made it, or this
  -- migration), and an offboarding's deletes must not bring one back.
  UPDATE page_view_rollup_marks m SET version = m.version + 1
   WHERE m.company_id IN (SELECT DISTINCT company_id FROM old_rows);
  WITH gone AS (
    SELECT DISTINCT company_id, (at AT TIME ZONE 'UTC')::date AS day, organisation, org_source, path
    FROM old_rows
  ), days AS (
    SELECT DISTINCT company_id, day FROM gone
  ), fresh AS (
    SELECT p.company_id, (p.at AT TIME ZONE 'UTC')::date AS day, p.organisation, p.org_source, p.path,
           count(*) AS views, min(p.at) AS first_at, max(p.at) AS last_at
    FROM days x
    JOIN page_views p ON p.company_id = x.company_id
     AND p.at >= (x.day::timestamp AT TIME ZONE 'UTC')
     AND p.at < ((x.day + 1)::timestamp AT TIME ZONE 'UTC')
    GROUP BY 1, 2, 3, 4, 5
  ), updated AS (
    UPDATE page_view_daily d
       SET views = f.views, first_at = f.first_at, last_at = f.last_at
      FROM gone g JOIN fresh f
        ON f.company_id = g.company_id AND f.day = g.day AND f.path = g.path
       AND f.organisation IS NOT DISTINCT FROM g.organisation
       AND f.org_source IS NOT DISTINCT FROM g.org_source
     WHERE d.company_id = g.company_id AND d.day = g.day AND d.path = g.path
       AND d.organisation IS NOT DISTINCT FROM g.organisation
       AND d.org_source IS NOT DISTINCT FROM g.org_source
    RETURNING 1
  )
  DELETE FROM page_view_daily d
   USING gone g
   WHERE d.company_id = g.company_id AND d.day = g.day AND d.path = g.path
     AND d.organisation IS NOT DISTINCT FROM g.organisation
     AND d.org_source IS NOT DISTINCT FROM g.org_source
     AND NOT EXISTS (
       SELECT 1 FROM fresh f
        WHERE f.company_id = g.company_id AND f.day = g.day AND f.path = g.path
          AND f.organisation IS NOT DISTINCT FROM g.organisation
          AND f.org_source IS NOT DISTINCT FROM g.org_source);
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION metiva_rebuild_page_view_rollups(company text) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO page_view_rollup_marks AS m (company_id, version) VALUES (company, 1)
  ON CONFLICT (company_id) DO UPDATE SET version = m.version + 1;
  DELETE FROM page_view_daily WHERE company_id = company;
  INSERT INTO page_view_daily (company_id, day, organisation, org_source, path, views, first_at, last_at)
  SELECT company_id, (at AT TIME ZONE 'UTC')::date, organisation, org_source, path, count(*), min(at), max(at)
  FROM page_views WHERE company_id = company
  GROUP BY 1, 2, 3, 4, 5;
END
$$;

-- A mark for every company that has page views now, each under its own
-- binding. The company list comes from the owner's directory function:
-- under forced RLS the owner sees no companies row without a binding (a
-- plain `SELECT id FROM companies` here would find none and leave the
-- marks missing, and a delete, which only bumps a mark, would then leave
-- a kept window stale).
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT company_id FROM metiva_audit_companies() LOOP
    PERFORM set_config('app.company_id', c.company_id, true);
    INSERT INTO page_view_rollup_marks (company_id, version)
    SELECT c.company_id, 1
     WHERE EXISTS (SELECT 1 FROM page_views WHERE company_id = c.company_id);
  END LOOP;
  PERFORM set_config('app.company_id', '', true);
END
$$;
