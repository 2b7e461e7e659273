REVOKE UPDATE (status) ON companies FROM metiva_directory;
REVOKE SELECT, INSERT ON offboardings FROM metiva_directory;
DROP FUNCTION metiva_request_offboarding(uuid, uuid, text);
