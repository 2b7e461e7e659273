-- The durable job runner (issue 17): one tenant table, jobs, and the
-- dispatcher's two narrow directory functions. See metiva_db::jobs.
--
-- A job belongs to one company and is read and written by the app role
-- only under that company's binding (forced RLS, as every tenant table).
-- The one cross-tenant path is the dispatcher: metiva_claim_jobs() picks due
-- jobs of every company and answers (company, id, kind) only; the worker
-- then runs each job in a transaction bound to that job's company, where
-- the payload is read under RLS.
--
-- States: queued (waiting for run_at), running (claimed; lock_expires_at
-- is the lease), failed (an attempt failed, a retry waits for run_at),
-- dead (no attempts left, or discarded lease of an exhausted job), done
-- (kept only for jobs with a key, so the key can never be enqueued again),
-- discarded (a person gave up on it; the key stays taken).
CREATE TABLE jobs (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]{0,63}$'),
    payload text NOT NULL DEFAULT '{}' CHECK (length(payload) <= 65536),
    job_key text CHECK (length(job_key) BETWEEN 1 AND 200),
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'failed', 'dead', 'done', 'discarded')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    run_at timestamptz NOT NULL DEFAULT now(),
    locked_by text,
    locked_at timestamptz,
    lock_expires_at timestamptz,
    last_error text CHECK (length(last_error) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id)
);
-- A key is taken for good (done and discarded rows keep it), so a period
-- is enqueued at most once per company, across instances and restarts.
CREATE UNIQUE INDEX jobs_key_once ON jobs (company_id, job_key) WHERE job_key IS NOT NULL;
-- The page: this company's open jobs.
CREATE INDEX jobs_company_state_idx ON jobs (company_id, state, run_at);
-- The dispatcher scans across companies by due time and by lease.
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE state IN ('queued', 'failed');
CREATE INDEX jobs_lease_idx ON jobs (lock_expires_at) WHERE state = 'running';
SELECT metiva_apply_tenant_policy('jobs');
-- No TRUNCATE (it ignores RLS). DELETE: a finished job without a key goes.
GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO metiva_app;

-- The dispatcher's claim: up to n due jobs of any company, oldest due
-- first, skipping rows another worker holds (FOR UPDATE SKIP LOCKED, and a
-- handler's transaction holds its own job's row lock for as long as it
-- runs). A running job whose lease expired (its worker was killed) is due
-- again; one that already used its attempts goes dead instead, so a job
-- that kills its worker cannot loop forever. Each claim counts an attempt.
-- Answers ids, company and kind only: the payload stays behind RLS.
CREATE FUNCTION metiva_claim_jobs(worker text, n integer, lease_seconds integer)
RETURNS TABLE (company_id text, id uuid, kind text, attempts integer, max_attempts integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF n < 1 OR n > 100 OR lease_seconds < 1 OR lease_seconds > 86400 OR length(worker) NOT BETWEEN 1 AND 100 THEN
    RAISE EXCEPTION 'metiva_claim_jobs: bad arguments' USING ERRCODE = '22023';
  END IF;
  WITH lost AS (
    SELECT l.company_id, l.id FROM jobs l
     WHERE l.state = 'running' AND l.lock_expires_at < now() AND l.attempts >= l.max_attempts
     FOR UPDATE SKIP LOCKED
  )
  UPDATE jobs j SET state = 'dead', locked_by = NULL, locked_at = NULL, lock_expires_at = NULL,
      last_error = 'lock expired on the last attempt (worker lost)', updated_at = now()
    FROM lost WHERE j.company_id = lost.company_id AND j.id = lost.id;
  RETURN QUERY
  WITH due AS (
    SELECT d.company_id, d.id FROM jobs d
     WHERE (d.state IN ('queued', 'failed') AND d.run_at <= now())
        OR (d.state = 'running' AND d.lock_expires_at < now() AND d.attempts < d.max_attempts)
     ORDER BY d.run_at
     LIMIT n
     FOR UPDATE SKIP LOCKED
  )
  UPDATE jobs j SET state = 'running', attempts = j.attempts + 1, locked_by = worker,
      locked_at = now(), lock_expires_at = now() + make_interval(secs => lease_seconds),
      updated_at = now()
    FROM due WHERE j.company_id = due.company_id AND j.id = due.id
  RETURNING j.company_id, j.id, j.kind, j.attempts, j.max_attempts;
END
$$;

-- The cron's company list: every company's id (each then enqueued under
-- its own binding). Ids only.
CREATE FUNCTION metiva_job_companies()
RETURNS TABLE (company_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT c.id FROM companies c WHERE c.status = 'active' ORDER BY c.id
$$;

GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_claim_jobs(text, integer, integer) OWNER TO metiva_directory;
ALTER FUNCTION metiva_job_companies() OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
GRANT SELECT, UPDATE ON jobs TO metiva_directory;
REVOKE ALL ON FUNCTION metiva_claim_jobs(text, integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION metiva_job_companies() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_claim_jobs(text, integer, integer) TO metiva_app;
GRANT EXECUTE ON FUNCTION metiva_job_companies() TO metiva_app;
