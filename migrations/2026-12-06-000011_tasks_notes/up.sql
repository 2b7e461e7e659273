-- Tasks (a due time, an assignee, a link to a contact, deal or
-- organisation, open or done), notes on any record, and the workspace's
-- lead-response target.

CREATE TABLE tasks (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    -- Stored in UTC; shown in Europe/Amsterdam.
    due_at timestamptz,
    assignee_user_id uuid,
    -- What the task is about: at most one of these.
    person_id uuid,
    deal_id uuid,
    organisation_id uuid,
    -- 'first_response' for the lead-response task the SLA creates.
    purpose text NOT NULL DEFAULT 'task' CHECK (purpose IN ('task', 'first_response')),
    done_at timestamptz,
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT tasks_one_link CHECK (num_nonnulls(person_id, deal_id, organisation_id) <= 1),
    CONSTRAINT tasks_assignee_fk FOREIGN KEY (company_id, assignee_user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE SET NULL (assignee_user_id),
    CONSTRAINT tasks_person_fk FOREIGN KEY (company_id, person_id)
        REFERENCES persons (company_id, id) ON DELETE CASCADE,
    CONSTRAINT tasks_deal_fk FOREIGN KEY (company_id, deal_id)
        REFERENCES deals (company_id, id) ON DELETE CASCADE,
    CONSTRAINT tasks_organisation_fk FOREIGN KEY (company_id, organisation_id)
        REFERENCES organisations (company_id, id) ON DELETE CASCADE
);
CREATE INDEX tasks_assignee_open_idx ON tasks (company_id, assignee_user_id, due_at) WHERE done_at IS NULL;
CREATE INDEX tasks_person_idx ON tasks (company_id, person_id);
CREATE INDEX tasks_deal_idx ON tasks (company_id, deal_id);
CREATE INDEX tasks_organisation_idx ON tasks (company_id, organisation_id);
SELECT metiva_apply_tenant_policy('tasks');
GRANT SELECT, INSERT, UPDATE, DELETE ON tasks TO metiva_app;

CREATE TABLE notes (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    body text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 10000),
    author_user_id uuid,
    person_id uuid,
    deal_id uuid,
    organisation_id uuid,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (company_id, id),
    CONSTRAINT notes_one_link CHECK (num_nonnulls(person_id, deal_id, organisation_id) = 1),
    CONSTRAINT notes_author_fk FOREIGN KEY (company_id, author_user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE SET NULL (author_user_id),
    CONSTRAINT notes_person_fk FOREIGN KEY (company_id, person_id)
        REFERENCES persons (company_id, id) ON DELETE CASCADE,
    CONSTRAINT notes_deal_fk FOREIGN KEY (company_id, deal_id)
        REFERENCES deals (company_id, id) ON DELETE CASCADE,
    CONSTRAINT notes_organisation_fk FOREIGN KEY (company_id, organisation_id)
        REFERENCES organisations (company_id, id) ON DELETE CASCADE
);
CREATE INDEX notes_person_idx ON notes (company_id, person_id, at);
CREATE INDEX notes_deal_idx ON notes (company_id, deal_id, at);
CREATE INDEX notes_organisation_idx ON notes (company_id, organisation_id, at);
SELECT metiva_apply_tenant_policy('notes');
GRANT SELECT, INSERT ON notes TO metiva_app;

-- The workspace's first-response target for new leads, counted in its
-- business hours (Europe/Amsterdam). One row per workspace; absent means
-- the defaults (60 minutes, Mon–Fri 09:00–17:30).
CREATE TABLE lead_sla (
    company_id text NOT NULL REFERENCES companies (id),
    target_minutes integer NOT NULL DEFAULT 60 CHECK (target_minutes BETWEEN 5 AND 10080),
    day_start time NOT NULL DEFAULT '09:00',
    day_end time NOT NULL DEFAULT '17:30',
    PRIMARY KEY (company_id),
    CONSTRAINT lead_sla_day CHECK (day_start < day_end)
);
SELECT metiva_apply_tenant_policy('lead_sla');
GRANT SELECT, INSERT, UPDATE ON lead_sla TO metiva_app;
