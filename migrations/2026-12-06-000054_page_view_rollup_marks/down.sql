-- Back to migration 000023's rollup functions, without the marks.
CREATE OR REPLACE FUNCTION metiva_page_view_daily_add() RETURNS trigger
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

CREATE OR REPLACE FUNCTION metiva_page_view_daily_remove() RETURNS trigger
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

CREATE OR REPLACE FUNCTION metiva_rebuild_page_view_rollups(company text) RETURNS void
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM page_view_daily WHERE company_id = company;
  INSERT INTO page_view_daily (company_id, day, organisation, org_source, path, views, first_at, last_at)
  SELECT company_id, (at AT TIME ZONE 'UTC')::date, organisation, org_source, path, count(*), min(at), max(at)
  FROM page_views WHERE company_id = company
  GROUP BY 1, 2, 3, 4, 5;
END
$$;

DROP TABLE page_view_rollup_marks;
