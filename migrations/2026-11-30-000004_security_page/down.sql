DROP FUNCTION metiva_session_workspaces(uuid);
REVOKE SELECT ON sessions FROM metiva_directory;
