-- Retention (issue 16): each workspace's retention per data class, and a
-- record of every sweep (counts only, never what was removed).
--
-- Bounds are enforced twice: by the domain (422 naming the field) and by
-- these CHECKs (a write that slips past the domain still fails).
--   page views              default 13 months, 1..=60
--   visitors w/o activity   default 13 months, 1..=60
--   contacts w/o deal/act.  default 24 months, 1..=60
--   audit log               default 24 months, 12..=120
-- Invoices (7 years, fixed by Dutch fiscal law) have no table yet and no
-- setting: the page shows the fixed period.
CREATE TABLE retention_settings (
    company_id text NOT NULL REFERENCES companies (id),
    page_views_months integer NOT NULL DEFAULT 13 CHECK (page_views_months BETWEEN 1 AND 60),
    visitors_months integer NOT NULL DEFAULT 13 CHECK (visitors_months BETWEEN 1 AND 60),
    contacts_months integer NOT NULL DEFAULT 24 CHECK (contacts_months BETWEEN 1 AND 60),
    audit_months integer NOT NULL DEFAULT 24 CHECK (audit_months BETWEEN 12 AND 120),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id)
);
SELECT metiva_apply_tenant_policy('retention_settings');
GRANT SELECT, INSERT, UPDATE ON retention_settings TO metiva_app;

-- One row per sweep of one company. A row with finished_at NULL is a sweep
-- in progress: the partial unique index lets only one exist per company,
-- so a second instance's sweep of the same company finds it taken
-- (INSERT … ON CONFLICT DO NOTHING) and skips that company. Every batch
-- adds its counts and refreshes heartbeat_at in its own transaction; a
-- claim whose heartbeat is older than 15 minutes (its instance died) is
-- closed as abandoned by the next sweep.
CREATE TABLE retention_sweeps (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    abandoned boolean NOT NULL DEFAULT false,
    batches integer NOT NULL DEFAULT 0 CHECK (batches >= 0),
    page_views bigint NOT NULL DEFAULT 0 CHECK (page_views >= 0),
    visitors bigint NOT NULL DEFAULT 0 CHECK (visitors >= 0),
    consent_decisions bigint NOT NULL DEFAULT 0 CHECK (consent_decisions >= 0),
    contacts bigint NOT NULL DEFAULT 0 CHECK (contacts >= 0),
    PRIMARY KEY (company_id, id)
);
CREATE UNIQUE INDEX retention_sweeps_one_running ON retention_sweeps (company_id) WHERE finished_at IS NULL;
CREATE INDEX retention_sweeps_latest_idx ON retention_sweeps (company_id, finished_at DESC);
SELECT metiva_apply_tenant_policy('retention_sweeps');
GRANT SELECT, INSERT, UPDATE ON retention_sweeps TO metiva_app;

-- The sweep deletes, under each company's own binding (RLS intact):
-- page views past their period, and visitors with their consent ledger
-- once nothing is left to prove (see metiva_db::retention). persons
-- already grants DELETE.
GRANT DELETE ON page_views, visitors, consent_decisions TO metiva_app;
-- What the sweep walks by age (page views already have (company_id, at)).
CREATE INDEX visitors_last_seen_idx ON visitors (company_id, last_seen);
CREATE INDEX persons_updated_idx ON persons (company_id, updated_at);

-- The sweep's one cross-tenant read: the list of company ids to sweep
-- (each then swept under its own binding). A narrow directory function,
-- as metiva_audit_companies(), but executable by the app role, because
-- `metiva serve` runs the sweep: it answers ids only, nothing else.
CREATE FUNCTION metiva_sweep_companies()
RETURNS TABLE (company_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.id FROM companies c ORDER BY c.id
$$;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_sweep_companies() OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_sweep_companies() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_sweep_companies() TO metiva_app;
