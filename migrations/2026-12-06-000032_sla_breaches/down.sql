DROP TABLE notifications;
DROP INDEX tasks_first_response_due_idx;
ALTER TABLE tasks DROP COLUMN breached_at;
