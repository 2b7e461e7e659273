-- Consent and visitors: registered sites, company-level page views, the
-- consent ledger, consented visitors, known networks and pending forwards.
--
-- Security:
-- * Every table here is a tenant table under the standard policies
--   (metiva_apply_tenant_policy): ENABLE + FORCE RLS, a RESTRICTIVE
--   company policy, composite foreign keys, indexes leading with company_id.
-- * The public ingest endpoints learn the tenant from a site key through one
--   named global lookup (metiva_site_by_key, SECURITY DEFINER owned by
--   metiva_directory, executable only by metiva_app), then write under that
--   tenant's context like any other request.
-- * The raw IP is never stored: page_views keeps the truncated address
--   (IPv4 /24, IPv6 /48) sealed with AES-256-GCM (key id, nonce,
--   ciphertext; the associated data binds company, table, column and row).
-- * Deny by default is enforced by the database as well as the code: a
--   visitor row (the only place an identifier lives) requires a granted
--   purpose; a forward can only be queued while the visitor's marketing
--   consent is on record.
-- * The consent ledger is proof: INSERT and SELECT only for the app role.

-- Sites: where a workspace's snippet runs. The site key is public (it is in
-- the page's HTML); it identifies, it does not authenticate. Origins are
-- checked against allowed_origins; entries ending in ":*" (any port) are
-- honoured only in development.
CREATE TABLE sites (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    domain text NOT NULL CHECK (domain ~ '^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$'),
    site_key text NOT NULL CHECK (site_key ~ '^pk_[a-z0-9_]{8,64}$'),
    allowed_origins text[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(allowed_origins) <= 50),
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id)
);
CREATE UNIQUE INDEX sites_site_key_idx ON sites (site_key);
SELECT metiva_apply_tenant_policy('sites');
GRANT SELECT, INSERT, UPDATE ON sites TO metiva_app;

-- Consented visitors: created only when a visitor grants analytics or
-- identification; the visitor key is the first-party id the snippet made
-- after that consent. The current state of each purpose lives here; the
-- ledger keeps the history.
CREATE TABLE visitors (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    site_id uuid NOT NULL,
    visitor_key uuid NOT NULL,
    analytics boolean NOT NULL DEFAULT false,
    identification boolean NOT NULL DEFAULT false,
    marketing boolean NOT NULL DEFAULT false,
    person_id uuid,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_seen timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT visitors_key UNIQUE (company_id, visitor_key),
    CONSTRAINT visitors_site_fk FOREIGN KEY (company_id, site_id) REFERENCES sites (company_id, id),
    CONSTRAINT visitors_person_fk FOREIGN KEY (company_id, person_id)
        REFERENCES persons (company_id, id) ON DELETE SET NULL (person_id),
    -- Visitor → person exists only under identification consent; a
    -- withdrawal unlinks (the person record itself stays until erased).
    CONSTRAINT visitors_person_needs_identification CHECK (person_id IS NULL OR identification)
);
CREATE INDEX visitors_person_idx ON visitors (company_id, person_id);
SELECT metiva_apply_tenant_policy('visitors');
GRANT SELECT, INSERT, UPDATE ON visitors TO metiva_app;

-- Page views: company-level by default. visitor_id is set only when the
-- visitor's analytics consent is on record (the ingest insert joins on it).
CREATE TABLE page_views (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL,
    site_id uuid NOT NULL,
    visitor_id uuid,
    at timestamptz NOT NULL DEFAULT now(),
    path text NOT NULL CHECK (length(path) BETWEEN 1 AND 512),
    referrer_domain text CHECK (referrer_domain IS NULL OR length(referrer_domain) <= 253),
    organisation text CHECK (organisation IS NULL OR length(organisation) BETWEEN 1 AND 200),
    org_source text CHECK (org_source IN ('known_network', 'asn')),
    ip_key_id text NOT NULL,
    ip_nonce bytea NOT NULL CHECK (length(ip_nonce) = 12),
    ip_ciphertext bytea NOT NULL CHECK (length(ip_ciphertext) BETWEEN 20 AND 64),
    PRIMARY KEY (company_id, id),
    CONSTRAINT page_views_site_fk FOREIGN KEY (company_id, site_id) REFERENCES sites (company_id, id),
    CONSTRAINT page_views_visitor_fk FOREIGN KEY (company_id, visitor_id)
        REFERENCES visitors (company_id, id) ON DELETE SET NULL (visitor_id),
    CONSTRAINT page_views_org_source CHECK ((organisation IS NULL) = (org_source IS NULL))
);
CREATE INDEX page_views_at_idx ON page_views (company_id, at);
CREATE INDEX page_views_visitor_idx ON page_views (company_id, visitor_id) WHERE visitor_id IS NOT NULL;
SELECT metiva_apply_tenant_policy('page_views');
GRANT SELECT, INSERT ON page_views TO metiva_app;

-- The consent ledger: every decision, as proof. The text hash is the
-- SHA-256 of the banner text the visitor saw (that version, that language).
CREATE TABLE consent_decisions (
    company_id text NOT NULL REFERENCES companies (id),
    id bigint GENERATED ALWAYS AS IDENTITY,
    site_id uuid NOT NULL,
    visitor_id uuid,
    analytics boolean NOT NULL,
    identification boolean NOT NULL,
    marketing boolean NOT NULL,
    withdrawal boolean NOT NULL DEFAULT false,
    banner_version text NOT NULL CHECK (banner_version ~ '^[0-9]{4}-[0-9]{2}\.[0-9]+$'),
    lang text NOT NULL CHECK (lang IN ('nl', 'en')),
    text_hash text NOT NULL CHECK (text_hash ~ '^[0-9a-f]{64}$'),
    decided_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT consent_site_fk FOREIGN KEY (company_id, site_id) REFERENCES sites (company_id, id),
    CONSTRAINT consent_visitor_fk FOREIGN KEY (company_id, visitor_id)
        REFERENCES visitors (company_id, id),
    CONSTRAINT consent_withdrawal_grants_nothing
        CHECK (NOT withdrawal OR NOT (analytics OR identification OR marketing))
);
CREATE INDEX consent_decisions_at_idx ON consent_decisions (company_id, decided_at DESC);
CREATE INDEX consent_decisions_visitor_idx ON consent_decisions (company_id, visitor_id);
SELECT metiva_apply_tenant_policy('consent_decisions');
GRANT SELECT, INSERT ON consent_decisions TO metiva_app;
GRANT USAGE ON SEQUENCE consent_decisions_id_seq TO metiva_app;

-- Known networks: a workspace's own CIDR → organisation list (CSV import).
CREATE TABLE known_networks (
    company_id text NOT NULL REFERENCES companies (id),
    network cidr NOT NULL,
    organisation text NOT NULL CHECK (length(organisation) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, network)
);
SELECT metiva_apply_tenant_policy('known_networks');
GRANT SELECT, INSERT, UPDATE, DELETE ON known_networks TO metiva_app;

-- Forwards: conversion events meant for ad platforms. Recorded (pending)
-- only under marketing consent; withdrawal cancels them; the sender (a
-- later job) checks consent again at the moment of sending.
CREATE TABLE forwards (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    visitor_id uuid NOT NULL,
    person_id uuid,
    event text NOT NULL CHECK (event IN ('lead', 'purchase')),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'cancelled', 'sent')),
    created_at timestamptz NOT NULL DEFAULT now(),
    cancelled_at timestamptz,
    PRIMARY KEY (company_id, id),
    CONSTRAINT forwards_visitor_fk FOREIGN KEY (company_id, visitor_id) REFERENCES visitors (company_id, id),
    CONSTRAINT forwards_person_fk FOREIGN KEY (company_id, person_id)
        REFERENCES persons (company_id, id) ON DELETE SET NULL (person_id)
);
CREATE INDEX forwards_visitor_idx ON forwards (company_id, visitor_id, status);
SELECT metiva_apply_tenant_policy('forwards');
GRANT SELECT, INSERT, UPDATE (status, cancelled_at) ON forwards TO metiva_app;

-- The database refuses a pending forward without marketing consent on
-- record, whatever the code above it does (deny by default, structurally).
CREATE FUNCTION metiva_forward_needs_consent() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  IF NEW.status = 'pending' AND NOT EXISTS (
       SELECT 1 FROM visitors v
       WHERE v.company_id = NEW.company_id AND v.id = NEW.visitor_id AND v.marketing) THEN
    RAISE EXCEPTION 'metiva: no marketing consent for this visitor' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER forwards_need_consent BEFORE INSERT OR UPDATE OF status ON forwards
  FOR EACH ROW EXECUTE FUNCTION metiva_forward_needs_consent();

-- The audit log learns the reason a person gave for an IP reveal (free
-- text, short; the form asks not to put personal data in it).
ALTER TABLE audit_log ADD COLUMN reason text CHECK (reason IS NULL OR length(reason) BETWEEN 3 AND 200);

-- The one named global lookup of the ingest path: site key → tenant.
CREATE FUNCTION metiva_site_by_key(p_key text)
RETURNS TABLE (company_id text, site_id uuid, allowed_origins text[])
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT s.company_id, s.id, s.allowed_origins
  FROM sites s JOIN companies c ON c.id = s.company_id
  WHERE s.site_key = p_key AND s.enabled AND c.status = 'active'
$$;
GRANT SELECT ON sites TO metiva_directory;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_site_by_key(text) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_site_by_key(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_site_by_key(text) TO metiva_app;
