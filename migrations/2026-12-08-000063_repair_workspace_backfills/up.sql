-- Repairs three backfills that never ran for the workspaces that existed.
--
-- Migrations 000009 (the default pipeline), 000010 (search terms) and
-- 000023 (daily page-view rollups) filled rows for existing workspaces in
-- a loop over `SELECT id FROM companies`, each under that workspace's
-- binding. Migrations run as metiva_owner with no binding, and companies
-- is FORCE'd, so that loop saw no company at all: a database that already
-- held workspaces when those migrations ran got no default stages, no
-- search terms for its older contacts, organisations and deals, and
-- rollups without the page views from before 000023. (A fresh database,
-- where the loops had nothing to do, is unaffected.)
--
-- This does what they meant to, for every workspace and idempotently, so
-- running it on a sound database changes nothing:
-- - default stages only for a workspace with no stage at all (the
--   pipeline editor keeps at least one open, won and lost stage, so no
--   stage means the backfill was missed, and no deal can exist there:
--   deals reference a stage);
-- - search terms that are missing (ON CONFLICT DO NOTHING), from the same
--   texts the triggers index (000015);
-- - rollups rebuilt only for a workspace whose rollups do not add up to
--   its page views (the rebuild also bumps its mark, so a kept window of
--   the visitors page is dropped).
--
-- Security: the company list comes from the owner's narrow directory
-- function (as in 000054); every row is read and written under that
-- workspace's own transaction-local binding, so forced RLS checks each
-- statement as it would an app request, and no FORCE is lifted. The
-- binding is cleared before the migration's transaction goes on.
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT company_id FROM metiva_audit_companies() LOOP
    PERFORM set_config('app.company_id', c.company_id, true);

    INSERT INTO pipeline_stages (company_id, key, label, position, outcome)
    SELECT c.company_id, s.key, s.label, s.position, s.outcome
      FROM (VALUES ('lead', 'Lead', 0, 'open'),
                   ('qualified', 'Qualified', 1, 'open'),
                   ('proposal', 'Proposal', 2, 'open'),
                   ('negotiation', 'Negotiation', 3, 'open'),
                   ('won', 'Won', 4, 'won'),
                   ('lost', 'Lost', 5, 'lost')) AS s (key, label, position, outcome)
     WHERE NOT EXISTS (SELECT 1 FROM pipeline_stages p WHERE p.company_id = c.company_id);

    INSERT INTO search_terms (company_id, term, kind, record_id)
      SELECT p.company_id, t, 'person', p.id FROM persons p, metiva_terms(ARRAY[p.name, p.email]) t
      WHERE p.company_id = c.company_id ON CONFLICT DO NOTHING;
    INSERT INTO search_terms (company_id, term, kind, record_id)
      SELECT o.company_id, t, 'organisation', o.id FROM organisations o, metiva_terms(ARRAY[o.name, o.domain]) t
      WHERE o.company_id = c.company_id ON CONFLICT DO NOTHING;
    INSERT INTO search_terms (company_id, term, kind, record_id)
      SELECT d.company_id, t, 'deal', d.id FROM deals d, metiva_terms(ARRAY[d.title]) t
      WHERE d.company_id = c.company_id ON CONFLICT DO NOTHING;

    IF (SELECT coalesce(sum(views), 0) FROM page_view_daily WHERE company_id = c.company_id)
       <> (SELECT count(*) FROM page_views WHERE company_id = c.company_id) THEN
      PERFORM metiva_rebuild_page_view_rollups(c.company_id);
    END IF;
  END LOOP;
  PERFORM set_config('app.company_id', '', true);
END
$$;
