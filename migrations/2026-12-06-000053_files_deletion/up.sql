-- Files can be deleted (issues 16 and 17).
--
-- Offboarding deletes the workspace's files too (issue 16): every object
-- under `{company}/` in the object store (invoice PDFs, the branding
-- logo, attachments, exports), after its data key is destroyed and its
-- rows are gone. The register counts them and says when they were gone.
--
-- * files_deleted: objects deleted so far, added to after each batch
--   (counts only, never a key or a name).
-- * files_deleted_at: when the store held none of the company's objects
--   any more; NULL while files are pending (the store was down: the run
--   stops, and `metiva offboard` run again finishes it).
-- * An offboarding is `done` only once its files are gone.
--
-- Offboardings finished before this migration never deleted their files:
-- they go back to `running` (files pending), so the operator's next
-- `metiva offboard <company>` deletes them and finishes again. Their rows
-- and keys are long gone; only the state changes.
ALTER TABLE offboardings
  ADD COLUMN files_deleted bigint NOT NULL DEFAULT 0 CHECK (files_deleted >= 0),
  ADD COLUMN files_deleted_at timestamptz;

UPDATE offboardings SET state = 'running' WHERE state = 'done';

ALTER TABLE offboardings
  ADD CONSTRAINT offboardings_done_files CHECK (state <> 'done' OR files_deleted_at IS NOT NULL);

-- An attached file can be deleted (issue 17): the app role may DELETE
-- from stored_files, but only contract and signature rows. The
-- RESTRICTIVE policy keeps invoice PDFs (fiscal records, kept for the
-- 7-year period) and logos out of the app role's reach whatever the code
-- does. It names metiva_app only: offboarding (the owner role, under the
-- company's binding) still deletes every row of the company.
GRANT DELETE ON stored_files TO metiva_app;
CREATE POLICY stored_files_app_deletes_uploads_only ON stored_files
  AS RESTRICTIVE FOR DELETE TO metiva_app
  USING (purpose IN ('contract', 'signature'));
