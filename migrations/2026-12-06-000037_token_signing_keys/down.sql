DROP TABLE token_signing_keys;
DROP FUNCTION metiva_notify_cache();
