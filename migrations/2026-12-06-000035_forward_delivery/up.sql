-- Lead forward delivery (issue 18): a pending forward is sent by a job
-- (forwards.send, key forward:{id}) to the workspace's webhook destination,
-- signed per the Standard Webhooks spec, after consent is re-read. See
-- metiva_db::conversions::forwards.
--
-- sent_at records the delivery; reason says why a forward was cancelled
-- at send time (a reason code, never personal data).
ALTER TABLE forwards
    ADD COLUMN sent_at timestamptz,
    ADD COLUMN reason text CHECK (reason IS NULL OR length(reason) BETWEEN 1 AND 200);
GRANT UPDATE (sent_at, reason) ON forwards TO metiva_app;

-- The forwards already pending when this lands get their job, once
-- (the key). A data migration over every tenant: NO FORCE for its
-- duration, inside this migration's transaction (DESIGN.md).
ALTER TABLE forwards NO FORCE ROW LEVEL SECURITY;
ALTER TABLE jobs NO FORCE ROW LEVEL SECURITY;
INSERT INTO jobs (company_id, kind, payload, job_key, max_attempts)
SELECT f.company_id, 'forwards.send', json_build_object('forward', f.id)::text,
       'forward:' || f.id::text, 12
  FROM forwards f
 WHERE f.status = 'pending'
ON CONFLICT DO NOTHING;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
ALTER TABLE forwards FORCE ROW LEVEL SECURITY;
