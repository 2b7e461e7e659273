-- Each stage's deal count, kept per company and stage (issue 15), so the
-- deal board reads six rows instead of grouping every deal of the
-- workspace on every view (2,000 deals: a sequential scan and a hash
-- aggregate, about half of the board statement's time).
--
-- Exactness: every change to deals fires the statement triggers below in
-- the writer's own transaction (the board's move, create, edit and
-- delete, erasure, offboarding, imports, a stage key renamed by the
-- ON UPDATE CASCADE of deals_stage_fk, and any later writer), so a
-- snapshot that sees a deal sees its count, and the board reads both in
-- one statement. A stage without deals has no row (the board shows 0).
--
-- Contention and deadlocks: a statement that moves deals touches two or
-- more count rows. Every writer first takes a transaction-level advisory
-- lock per company (as the audit chain does, its own class id), so deal
-- writers of one company queue up instead of locking count rows in
-- different orders across statements. Deals change at the pace of people
-- and imports, not of page views.
--
-- Security: forced RLS with the usual policy shape. The triggers are
-- SECURITY INVOKER and run under the writer's binding, so a writer bound
-- to one company can neither read nor change another's counts (the
-- WITH CHECK refuses the row). No foreign key to pipeline_stages: a stage
-- key renamed by cascade reaches the counts through the deals' own
-- UPDATE, once. Decrements never insert a row, so an offboarding that
-- deletes the counts before the deals (catalog order) does not bring one
-- back; the check below stops a count from going negative unnoticed.
CREATE TABLE deal_stage_counts (
    company_id text NOT NULL REFERENCES companies (id),
    stage text NOT NULL,
    deals bigint NOT NULL CHECK (deals >= 0),
    PRIMARY KEY (company_id, stage)
);
SELECT metiva_apply_tenant_policy('deal_stage_counts');
GRANT SELECT, INSERT, UPDATE, DELETE ON deal_stage_counts TO metiva_app;

-- One function for the three events: the statement's rows become one
-- delta per (company, stage), applied in key order.
CREATE FUNCTION metiva_deal_stage_counts_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  cs text[];
  ss text[];
  ds bigint[];
BEGIN
  -- Each branch names only the transition tables its trigger declares.
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(company_id ORDER BY company_id, stage), array_agg(stage ORDER BY company_id, stage),
           array_agg(n ORDER BY company_id, stage)
      INTO cs, ss, ds
      FROM (SELECT company_id, stage, count(*) AS n FROM new_rows GROUP BY 1, 2) x;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(company_id ORDER BY company_id, stage), array_agg(stage ORDER BY company_id, stage),
           array_agg(n ORDER BY company_id, stage)
      INTO cs, ss, ds
      FROM (SELECT company_id, stage, -count(*) AS n FROM old_rows GROUP BY 1, 2) x;
  ELSE
    -- An edit that keeps the stage nets to zero and writes nothing.
    SELECT array_agg(company_id ORDER BY company_id, stage), array_agg(stage ORDER BY company_id, stage),
           array_agg(n ORDER BY company_id, stage)
      INTO cs, ss, ds
      FROM (SELECT company_id, stage, sum(d) AS n
              FROM (SELECT company_id, stage, 1 AS d FROM new_rows
                    UNION ALL
                    SELECT company_id, stage, -1 AS d FROM old_rows) m
             GROUP BY 1, 2
            HAVING sum(d) <> 0) x;
  END IF;
  IF cs IS NULL THEN
    RETURN NULL;
  END IF;
  -- The company's lock first (see the table), in company order.
  PERFORM pg_advisory_xact_lock(1835299683, hashtext(c))
     FROM (SELECT DISTINCT c FROM unnest(cs) AS u(c) ORDER BY 1) q;
  INSERT INTO deal_stage_counts AS k (company_id, stage, deals)
  SELECT c, s, d FROM unnest(cs, ss, ds) AS u(c, s, d) WHERE d > 0
  ORDER BY c, s
  ON CONFLICT (company_id, stage) DO UPDATE SET deals = k.deals + EXCLUDED.deals;
  UPDATE deal_stage_counts k SET deals = k.deals + u.d
    FROM unnest(cs, ss, ds) AS u(c, s, d)
   WHERE u.d < 0 AND k.company_id = u.c AND k.stage = u.s;
  DELETE FROM deal_stage_counts k
   USING unnest(cs, ss, ds) AS u(c, s, d)
   WHERE u.d < 0 AND k.company_id = u.c AND k.stage = u.s AND k.deals = 0;
  RETURN NULL;
END
$$;

CREATE TRIGGER deals_stage_counts_insert AFTER INSERT ON deals
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_deal_stage_counts_apply();
CREATE TRIGGER deals_stage_counts_update AFTER UPDATE ON deals
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_deal_stage_counts_apply();
CREATE TRIGGER deals_stage_counts_delete AFTER DELETE ON deals
  REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_deal_stage_counts_apply();

-- The deals that exist, every workspace at once. A loop over companies
-- under each one's binding (as older migrations do) sees no company at
-- all: companies is FORCE'd, and a migration runs with no binding. So, as
-- DESIGN.md prescribes for a data migration that touches every tenant,
-- the owner lifts FORCE on the two tables for this one statement, inside
-- the migration's transaction (no other session sees the gap: ALTER
-- TABLE holds an exclusive lock until commit).
ALTER TABLE deals NO FORCE ROW LEVEL SECURITY;
ALTER TABLE deal_stage_counts NO FORCE ROW LEVEL SECURITY;
INSERT INTO deal_stage_counts (company_id, stage, deals)
SELECT company_id, stage, count(*) FROM deals GROUP BY 1, 2;
ALTER TABLE deals FORCE ROW LEVEL SECURITY;
ALTER TABLE deal_stage_counts FORCE ROW LEVEL SECURITY;
