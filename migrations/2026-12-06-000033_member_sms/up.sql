-- SMS to members (issue 18): a member's verified phone and opt-in for SLA
-- breach alerts, one-time verification codes, the SMS messages sent
-- through Twilio with their delivery status, and the workspace's
-- unguessable Twilio status-callback endpoint.
--
-- Phone numbers and message bodies are personal data: they are sealed
-- with the field cipher under the workspace's data key (associated data:
-- company, table, column, row), and only a short hint is kept in the clear.

-- A member's verified phone and SMS preference (one row per member).
CREATE TABLE member_phones (
    company_id text NOT NULL REFERENCES companies (id),
    user_id uuid NOT NULL,
    phone_key_id text NOT NULL,
    phone_nonce bytea NOT NULL CHECK (length(phone_nonce) = 12),
    phone_ciphertext bytea NOT NULL CHECK (length(phone_ciphertext) BETWEEN 17 AND 256),
    -- The last three digits, for the settings page ("ends in 678").
    phone_hint text NOT NULL CHECK (phone_hint ~ '^[0-9]{2,3}$'),
    verified_at timestamptz NOT NULL,
    sms_alerts boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, user_id),
    CONSTRAINT member_phones_member_fk FOREIGN KEY (company_id, user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE CASCADE
);
SELECT metiva_apply_tenant_policy('member_phones');
GRANT SELECT, INSERT, UPDATE, DELETE ON member_phones TO metiva_app;

-- A verification code sent to a phone: only a salted hash of the code is
-- kept; valid until expires_at (10 minutes), at most 5 tries, then dead.
CREATE TABLE phone_codes (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    phone_key_id text NOT NULL,
    phone_nonce bytea NOT NULL CHECK (length(phone_nonce) = 12),
    phone_ciphertext bytea NOT NULL CHECK (length(phone_ciphertext) BETWEEN 17 AND 256),
    phone_hint text NOT NULL CHECK (phone_hint ~ '^[0-9]{2,3}$'),
    code_salt bytea NOT NULL CHECK (length(code_salt) = 16),
    code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 5),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    verified_at timestamptz,
    PRIMARY KEY (company_id, id),
    CONSTRAINT phone_codes_member_fk FOREIGN KEY (company_id, user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE CASCADE
);
CREATE INDEX phone_codes_member_idx ON phone_codes (company_id, user_id, created_at DESC);
SELECT metiva_apply_tenant_policy('phone_codes');
GRANT SELECT, INSERT ON phone_codes TO metiva_app;
GRANT UPDATE (attempts, verified_at) ON phone_codes TO metiva_app;

-- An SMS to a member, sent by the notify.sms job through Twilio. The
-- verification code's body is sealed and cleared once sent; a breach
-- alert's body is rebuilt from purpose and count (no personal data).
CREATE TABLE sms_messages (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    purpose text NOT NULL CHECK (purpose IN ('sla_breach', 'phone_code')),
    breaches integer CHECK (breaches IS NULL OR breaches >= 1),
    phone_code_id uuid,
    body_key_id text,
    body_nonce bytea CHECK (body_nonce IS NULL OR length(body_nonce) = 12),
    body_ciphertext bytea CHECK (body_ciphertext IS NULL OR length(body_ciphertext) BETWEEN 17 AND 2048),
    status text NOT NULL DEFAULT 'pending' CHECK (status ~ '^[a-z_]{1,32}$'),
    provider_sid text CHECK (provider_sid ~ '^(SM|MM)[0-9a-fA-F]{32}$'),
    error_code text CHECK (error_code IS NULL OR error_code ~ '^[0-9]{1,10}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    status_at timestamptz,
    PRIMARY KEY (company_id, id),
    CONSTRAINT sms_messages_code_kind CHECK ((purpose = 'phone_code') = (phone_code_id IS NOT NULL)),
    CONSTRAINT sms_messages_member_fk FOREIGN KEY (company_id, user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE CASCADE,
    CONSTRAINT sms_messages_code_fk FOREIGN KEY (company_id, phone_code_id)
        REFERENCES phone_codes (company_id, id) ON DELETE CASCADE
);
CREATE INDEX sms_messages_member_idx ON sms_messages (company_id, user_id, created_at DESC);
CREATE INDEX sms_messages_code_idx ON sms_messages (company_id, phone_code_id);
CREATE UNIQUE INDEX sms_messages_sid_idx ON sms_messages (company_id, provider_sid);
SELECT metiva_apply_tenant_policy('sms_messages');
GRANT SELECT, INSERT ON sms_messages TO metiva_app;
GRANT UPDATE (body_key_id, body_nonce, body_ciphertext, status, provider_sid, error_code, sent_at, status_at)
    ON sms_messages TO metiva_app;

-- The workspace's Twilio status-callback endpoint id: the public URL is
-- /webhooks/twilio/{endpoint_id}; 128 random bits, so it cannot be
-- guessed, and it only routes: the signature proves the request.
CREATE TABLE twilio_endpoints (
    company_id text NOT NULL REFERENCES companies (id),
    endpoint_id text NOT NULL CHECK (endpoint_id ~ '^twe_[0-9a-f]{32}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id),
    CONSTRAINT twilio_endpoints_endpoint_key UNIQUE (company_id, endpoint_id)
);
-- The callback's lookup by endpoint id alone (not unique: every unique
-- constraint of a tenant table includes company_id; the directory
-- function fails closed on more than one match).
CREATE INDEX twilio_endpoints_lookup_idx ON twilio_endpoints (endpoint_id);
SELECT metiva_apply_tenant_policy('twilio_endpoints');
GRANT SELECT, INSERT ON twilio_endpoints TO metiva_app;

-- The Twilio callback's one cross-tenant read: endpoint id -> company,
-- active companies only; it answers the company id and nothing else (as
-- metiva_stripe_endpoint()).
CREATE FUNCTION metiva_twilio_endpoint(p_endpoint text)
RETURNS TABLE (company_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT t.company_id
  FROM twilio_endpoints t JOIN companies c ON c.id = t.company_id
  WHERE t.endpoint_id = p_endpoint AND c.status = 'active'
$$;
GRANT SELECT (company_id, endpoint_id) ON twilio_endpoints TO metiva_directory;
GRANT CREATE ON SCHEMA public TO metiva_directory;
ALTER FUNCTION metiva_twilio_endpoint(text) OWNER TO metiva_directory;
REVOKE CREATE ON SCHEMA public FROM metiva_directory;
REVOKE ALL ON FUNCTION metiva_twilio_endpoint(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION metiva_twilio_endpoint(text) TO metiva_app;
