REVOKE INSERT, UPDATE, DELETE ON token_signing_keys FROM metiva_login;
