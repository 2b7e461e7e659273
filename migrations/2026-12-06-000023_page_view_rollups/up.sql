-- Daily rollups of page views per company, organisation (with how it was
-- identified) and page, so the visitors page reads a few thousand rollup
-- rows instead of grouping a million page views per view (issue 15).
--
-- Kept up to date by statement triggers on page_views, so every writer is
-- covered in the same transaction as its change: the ingest batch (one
-- INSERT per batch, so one grouped upsert per batch), erasure, the
-- retention sweep and any later deleter. The triggers run as the writer
-- (SECURITY INVOKER): the rollup rows are checked by the same forced RLS
-- as the page views, so a writer bound to one company cannot touch
-- another's rollups.
CREATE TABLE page_view_daily (
    company_id text NOT NULL REFERENCES companies (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    day date NOT NULL,
    organisation text,
    org_source text,
    path text NOT NULL,
    views bigint NOT NULL CHECK (views > 0),
    first_at timestamptz NOT NULL,
    last_at timestamptz NOT NULL,
    PRIMARY KEY (company_id, id),
    -- The upsert's key; an unknown organisation (NULL) is one group.
    CONSTRAINT page_view_daily_key UNIQUE NULLS NOT DISTINCT (company_id, day, organisation, org_source, path)
);
SELECT metiva_apply_tenant_policy('page_view_daily');
GRANT SELECT, INSERT, UPDATE, DELETE ON page_view_daily TO metiva_app;

-- UTC days, as the visitors page counts them.
CREATE FUNCTION metiva_page_view_daily_add() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
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

-- Deleted views: the groups they belonged to are recounted from what is
-- left on their days (a first or last time cannot be decremented), and
-- dropped when nothing is left.
CREATE FUNCTION metiva_page_view_daily_remove() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
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

CREATE TRIGGER page_views_daily_insert AFTER INSERT ON page_views
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_page_view_daily_add();
CREATE TRIGGER page_views_daily_delete AFTER DELETE ON page_views
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_page_view_daily_remove();

-- The rollups of one company recounted from its page views (the bench's
-- bulk loads, and a repair by hand). As the caller, under its binding.
CREATE FUNCTION metiva_rebuild_page_view_rollups(company text) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM page_view_daily WHERE company_id = company;
  INSERT INTO page_view_daily (company_id, day, organisation, org_source, path, views, first_at, last_at)
  SELECT company_id, (at AT TIME ZONE 'UTC')::date, organisation, org_source, path, count(*), min(at), max(at)
  FROM page_views WHERE company_id = company
  GROUP BY 1, 2, 3, 4, 5;
END
$$;
REVOKE ALL ON FUNCTION metiva_rebuild_page_view_rollups(text) FROM PUBLIC;

-- The rows that exist, each workspace under its own binding.
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT id FROM companies LOOP
    PERFORM set_config('app.company_id', c.id, true);
    PERFORM metiva_rebuild_page_view_rollups(c.id);
  END LOOP;
  PERFORM set_config('app.company_id', '', true);
END
$$;
