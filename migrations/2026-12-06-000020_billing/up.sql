-- Billing (issue 17): retainers, invoices with gapless numbers, the
-- workspace's Stripe connection and the Stripe events it has received.
-- Tenant rules as ever: company_id leads every key and index, references
-- are composite, RLS enabled, forced and restrictive.
--
-- Invoices are kept for the 7-year Dutch fiscal period: the app role may
-- never DELETE them, and may UPDATE only their status.

-- A monthly retainer for one organisation. Amounts are integer euro
-- cents. VAT is 21, 9 or 0; 0 with reverse_charge only for an EU
-- business customer with a VAT number outside the Netherlands.
CREATE TABLE retainers (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL,
    description text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 200),
    monthly_cents bigint NOT NULL CHECK (monthly_cents BETWEEN 1 AND 100000000000),
    vat_rate smallint NOT NULL CHECK (vat_rate IN (21, 9, 0)),
    reverse_charge boolean NOT NULL DEFAULT false,
    -- The customer's EU VAT number, as required for reverse charge.
    customer_vat text CHECK (customer_vat IS NULL OR customer_vat ~ '^[A-Z]{2}[0-9A-Z]{2,12}$'),
    starts_on date NOT NULL,
    ends_on date CHECK (ends_on IS NULL OR ends_on >= starts_on),
    -- 1..=28, so every month has the day.
    billing_day smallint NOT NULL CHECK (billing_day BETWEEN 1 AND 28),
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT retainers_reverse_charge CHECK (
        NOT reverse_charge OR (vat_rate = 0 AND customer_vat IS NOT NULL AND customer_vat !~ '^NL')),
    -- An organisation with a billing history is not deleted (RESTRICT).
    CONSTRAINT retainers_organisation_fk FOREIGN KEY (company_id, organisation_id)
        REFERENCES organisations (company_id, id)
);
CREATE INDEX retainers_organisation_idx ON retainers (company_id, organisation_id);
SELECT metiva_apply_tenant_policy('retainers');
GRANT SELECT, INSERT ON retainers TO metiva_app;
GRANT UPDATE (ends_on) ON retainers TO metiva_app;

-- The last invoice number used per workspace and year (0: none yet). The
-- row is locked (SELECT … FOR UPDATE) and bumped in the invoice's
-- own transaction: the row lock serialises concurrent runs, and a rolled
-- back invoice rolls its number back too, so numbers stay gapless.
CREATE TABLE invoice_counters (
    company_id text NOT NULL REFERENCES companies (id),
    year integer NOT NULL CHECK (year BETWEEN 2000 AND 9999),
    last_number integer NOT NULL CHECK (last_number BETWEEN 0 AND 9999),
    PRIMARY KEY (company_id, year)
);
SELECT metiva_apply_tenant_policy('invoice_counters');
GRANT SELECT, INSERT, UPDATE ON invoice_counters TO metiva_app;

-- 16 columns at most (Diesel's default table size): the Stripe ids live
-- in invoice_stripe, and the number is year and seq (`2026-0001`).
CREATE TABLE invoices (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    organisation_id uuid NOT NULL,
    retainer_id uuid,
    -- The retainer month billed, 'YYYY-MM'.
    period text CHECK (period IS NULL OR period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    year integer NOT NULL CHECK (year BETWEEN 2000 AND 9999),
    seq integer NOT NULL CHECK (seq BETWEEN 1 AND 9999),
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'paid', 'failed', 'void')),
    issued_on date NOT NULL,
    due_on date NOT NULL CHECK (due_on >= issued_on),
    subtotal_cents bigint NOT NULL,
    vat_cents bigint NOT NULL,
    total_cents bigint NOT NULL CHECK (total_cents = subtotal_cents + vat_cents),
    reverse_charge boolean NOT NULL DEFAULT false,
    customer_vat text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    -- Gapless and unique per workspace and year.
    CONSTRAINT invoices_seq_key UNIQUE (company_id, year, seq),
    -- At most one invoice per retainer and period, whatever runs twice.
    CONSTRAINT invoices_retainer_period_key UNIQUE (company_id, retainer_id, period),
    CONSTRAINT invoices_organisation_fk FOREIGN KEY (company_id, organisation_id)
        REFERENCES organisations (company_id, id),
    CONSTRAINT invoices_retainer_fk FOREIGN KEY (company_id, retainer_id)
        REFERENCES retainers (company_id, id)
);
CREATE INDEX invoices_status_idx ON invoices (company_id, status, issued_on DESC);
CREATE INDEX invoices_organisation_idx ON invoices (company_id, organisation_id);
SELECT metiva_apply_tenant_policy('invoices');
GRANT SELECT, INSERT ON invoices TO metiva_app;
GRANT UPDATE (status, updated_at) ON invoices TO metiva_app;

-- The Stripe objects an issued invoice became (written once, when the
-- issuing job has sent it).
CREATE TABLE invoice_stripe (
    company_id text NOT NULL REFERENCES companies (id),
    invoice_id uuid NOT NULL,
    stripe_customer_id text NOT NULL CHECK (length(stripe_customer_id) BETWEEN 1 AND 255),
    stripe_invoice_id text NOT NULL CHECK (length(stripe_invoice_id) BETWEEN 1 AND 255),
    organisation_id uuid NOT NULL,
    PRIMARY KEY (company_id, invoice_id),
    CONSTRAINT invoice_stripe_invoice_key UNIQUE (company_id, stripe_invoice_id),
    CONSTRAINT invoice_stripe_invoice_fk FOREIGN KEY (company_id, invoice_id)
        REFERENCES invoices (company_id, id),
    CONSTRAINT invoice_stripe_organisation_fk FOREIGN KEY (company_id, organisation_id)
        REFERENCES organisations (company_id, id)
);
CREATE INDEX invoice_stripe_organisation_idx ON invoice_stripe (company_id, organisation_id);
SELECT metiva_apply_tenant_policy('invoice_stripe');
GRANT SELECT, INSERT ON invoice_stripe TO metiva_app;

-- An invoice's lines; VAT is rounded per line (half away from zero).
CREATE TABLE invoice_lines (
    company_id text NOT NULL REFERENCES companies (id),
    invoice_id uuid NOT NULL,
    line_no smallint NOT NULL CHECK (line_no BETWEEN 1 AND 100),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
    quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 100000),
    unit_cents bigint NOT NULL,
    vat_rate smallint NOT NULL CHECK (vat_rate IN (21, 9, 0)),
    net_cents bigint NOT NULL CHECK (net_cents = quantity * unit_cents),
    vat_cents bigint NOT NULL,
    PRIMARY KEY (company_id, invoice_id, line_no),
    CONSTRAINT invoice_lines_invoice_fk FOREIGN KEY (company_id, invoice_id)
        REFERENCES invoices (company_id, id)
);
SELECT metiva_apply_tenant_policy('invoice_lines');
GRANT SELECT, INSERT ON invoice_lines TO metiva_app;

-- One Stripe connection per workspace. The restricted API key and the
-- webhook signing secret are sealed with the field cipher (associated
-- data: company, table, column, row = company id); the app never shows
-- them again after they are saved, only the key's last four characters.
-- endpoint_id names the public webhook URL /webhooks/stripe/{endpoint_id}.
CREATE TABLE stripe_connections (
    company_id text NOT NULL REFERENCES companies (id),
    endpoint_id text NOT NULL CHECK (endpoint_id ~ '^whe_[0-9a-f]{32}$'),
    api_key_hint text NOT NULL CHECK (length(api_key_hint) <= 32),
    api_key_key_id text NOT NULL,
    api_key_nonce bytea NOT NULL CHECK (length(api_key_nonce) = 12),
    api_key_ciphertext bytea NOT NULL CHECK (length(api_key_ciphertext) BETWEEN 17 AND 1024),
    webhook_secret_key_id text NOT NULL,
    webhook_secret_nonce bytea NOT NULL CHECK (length(webhook_secret_nonce) = 12),
    webhook_secret_ciphertext bytea NOT NULL CHECK (length(webhook_secret_ciphertext) BETWEEN 17 AND 1024),
    api_version text NOT NULL CHECK (api_version ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}(\.[a-z]+)?$'),
    connected_by uuid,
    connected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id),
    CONSTRAINT stripe_connections_endpoint_key UNIQUE (company_id, endpoint_id)
);
CREATE INDEX stripe_connections_endpoint_lookup_idx ON stripe_connections (endpoint_id);
SELECT metiva_apply_tenant_policy('stripe_connections');
GRANT SELECT, INSERT, UPDATE, DELETE ON stripe_connections TO metiva_app;

-- Every Stripe event received, deduplicated by its id before any effect.
-- Only what handling needs is kept (never the payload: it may name people).
CREATE TABLE stripe_events (
    company_id text NOT NULL REFERENCES companies (id),
    event_id text NOT NULL CHECK (event_id ~ '^evt_[A-Za-z0-9_]{1,250}$'),
    event_type text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 100),
    stripe_invoice_id text CHECK (stripe_invoice_id IS NULL OR length(stripe_invoice_id) <= 255),
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    outcome text CHECK (outcome IS NULL OR length(outcome) <= 100),
    PRIMARY KEY (company_id, event_id)
);
SELECT metiva_apply_tenant_policy('stripe_events');
GRANT SELECT, INSERT ON stripe_events TO metiva_app;
GRANT UPDATE (processed_at, outcome) ON stripe_events TO metiva_app;

-- The webhook path's one cross-tenant read: endpoint id -> company, for
-- active companies only. A narrow directory function, as
-- metiva_site_by_key(): it answers the company id and nothing else.
CREATE FUNCTION metiva_stripe_endpoint(p_endpoint text)
RETURNS TABLE (company_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.company_id
  FROM stripe_connections s JOIN companies c ON c.id = s.company_id
  WHERE s.endpoint_id = p_endpoint AND c.status = 'active'
$$;
GRANT SELECT (company_id, endpoint_id) ON stripe_connections TO metiva_directory;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_stripe_endpoint(text) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_stripe_endpoint(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_stripe_endpoint(text) TO metiva_app;
