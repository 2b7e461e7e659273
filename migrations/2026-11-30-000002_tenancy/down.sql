DROP TABLE audit_log;
DROP TABLE deals;
DROP TABLE persons;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE companies;
DROP FUNCTION metiva_apply_tenant_policy(regclass);
