CREATE INDEX persons_name_idx ON persons (company_id, name);
DROP INDEX IF EXISTS persons_name_id_idx;
CREATE INDEX persons_updated_idx ON persons (company_id, updated_at);
DROP INDEX IF EXISTS persons_updated_id_idx;
