DROP POLICY stored_files_app_deletes_uploads_only ON stored_files;
REVOKE DELETE ON stored_files FROM metiva_app;
ALTER TABLE offboardings DROP CONSTRAINT offboardings_done_files;
UPDATE offboardings SET state = 'done' WHERE state = 'running' AND finished_at IS NOT NULL;
ALTER TABLE offboardings DROP COLUMN files_deleted_at, DROP COLUMN files_deleted;
