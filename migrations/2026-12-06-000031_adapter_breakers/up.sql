-- The circuit breaker per (workspace, provider) of the adapter framework
-- (issue 18). See metiva_db::adapters::breaker.
--
-- In PostgreSQL so every instance (web and worker processes) agrees on
-- whether a provider is open. Written in short transactions of their own,
-- never in a job's (a failing job rolls its transaction back, which would
-- erase the very failure the breaker must count). Times come from the
-- application's clock (a controllable one in tests), not now().
CREATE TABLE adapter_breakers (
    company_id text NOT NULL REFERENCES companies (id),
    provider text NOT NULL CHECK (provider IN ('twilio', 'google_ads', 'meta', 'webhook')),
    state text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed', 'open', 'half_open')),
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    opened_at timestamptz,
    -- While open: when the next (single) probe may go out.
    retry_at timestamptz,
    -- A half-open probe in flight, leased until then (one probe at a time).
    probe_until timestamptz,
    last_success_at timestamptz,
    last_error_at timestamptz,
    -- Reason codes and HTTP statuses only, never a response body.
    last_error text CHECK (length(last_error) <= 500),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (company_id, provider)
);
SELECT metiva_apply_tenant_policy('adapter_breakers');
GRANT SELECT, INSERT, UPDATE, DELETE ON adapter_breakers TO metiva_app;
