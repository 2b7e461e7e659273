-- The SLA breach sweep (issue 18): a first-response task past its
-- deadline, swept in business hours, is marked breached exactly once
-- (breached_at is set by an UPDATE ... WHERE breached_at IS NULL, so a
-- second sweep, or two workers sweeping at once, find nothing left), and
-- its assignee gets one in-app notice (UNIQUE per task and kind).
ALTER TABLE tasks ADD COLUMN breached_at timestamptz;

-- What the sweep scans: open, unbreached first-response tasks of one
-- company by deadline (company first, as every tenant index).
CREATE INDEX tasks_first_response_due_idx ON tasks (company_id, due_at)
    WHERE purpose = 'first_response' AND done_at IS NULL AND breached_at IS NULL;

-- In-app notices for one member. Ids only: the page renders the text from
-- the kind and the task's own (tenant-protected) row.
CREATE TABLE notifications (
    company_id text NOT NULL REFERENCES companies (id),
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('sla_breach')),
    task_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz,
    PRIMARY KEY (company_id, id),
    CONSTRAINT notifications_once UNIQUE (company_id, kind, task_id),
    CONSTRAINT notifications_member_fk FOREIGN KEY (company_id, user_id)
        REFERENCES memberships (company_id, user_id) ON DELETE CASCADE,
    CONSTRAINT notifications_task_fk FOREIGN KEY (company_id, task_id)
        REFERENCES tasks (company_id, id) ON DELETE CASCADE
);
CREATE INDEX notifications_unread_idx ON notifications (company_id, user_id, created_at DESC)
    WHERE read_at IS NULL;
SELECT metiva_apply_tenant_policy('notifications');
GRANT SELECT, INSERT ON notifications TO metiva_app;
GRANT UPDATE (read_at) ON notifications TO metiva_app;
