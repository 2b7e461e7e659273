-- Index shapes for the pages (issue 15). Each leads with company_id, the
-- column the forced RLS predicate compares, then the page's sort key, so
-- the tenant filter and the ORDER BY ... LIMIT are one index range scan.

-- /persons: keyset pages by (updated_at DESC, id DESC). Replaces the
-- (company_id, updated_at) index, which it covers.
CREATE INDEX persons_updated_id_idx ON persons (company_id, updated_at DESC, id DESC);
DROP INDEX IF EXISTS persons_updated_idx;

-- The contact picker: (id, name) by name, id.
CREATE INDEX persons_name_id_idx ON persons (company_id, name, id);
DROP INDEX IF EXISTS persons_name_idx;
