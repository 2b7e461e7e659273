-- Integrations (issue 18): the outbound providers a workspace connected
-- (Twilio, Google Ads, Meta, a webhook destination). See
-- metiva_db::adapters::integrations.
--
-- The credentials (a small JSON object of the provider's fields) are
-- sealed as one value with the workspace's data key, exactly as the
-- Stripe key in stripe_connections: the associated data binds the
-- ciphertext to its company, this table, the column and the provider, so
-- a ciphertext copied to another workspace or provider fails to open.
-- `hint` is the only thing a page shows afterwards (never a secret: an
-- account id or the last four characters of a token).
CREATE TABLE integrations (
    company_id text NOT NULL REFERENCES companies (id),
    provider text NOT NULL CHECK (provider IN ('twilio', 'google_ads', 'meta', 'webhook')),
    hint text NOT NULL CHECK (length(hint) <= 200),
    credentials_key_id text NOT NULL,
    credentials_nonce bytea NOT NULL CHECK (length(credentials_nonce) = 12),
    credentials_ciphertext bytea NOT NULL CHECK (length(credentials_ciphertext) BETWEEN 17 AND 8192),
    connected_by uuid,
    connected_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, provider)
);
SELECT metiva_apply_tenant_policy('integrations');
GRANT SELECT, INSERT, UPDATE, DELETE ON integrations TO metiva_app;
