ALTER TABLE sessions DROP COLUMN ip_key_id, DROP COLUMN ip_nonce, DROP COLUMN ip_ciphertext;
DROP FUNCTION metiva_session_workspaces(uuid);
REVOKE SELECT ON sessions FROM metiva_directory;
