-- The values still sealed under the master key, found through the
-- partial index under forced RLS.
--
-- 000044's index had the predicate `ip_key_id NOT LIKE 'd-%'`. Under
-- row-level security PostgreSQL may only use a query's condition ahead of
-- the policy (for an index, or a partial index's proof) when its function
-- is LEAKPROOF, and `textnlike` is not: the security page's count and the
-- migration job's batch scanned every page view of the company (36 ms per
-- security-page view at 100,000 page views). `starts_with` is LEAKPROOF,
-- so the same set, written `NOT starts_with(ip_key_id, 'd-')`, is read
-- through the index (0.03 ms).
DROP INDEX page_views_master_sealed_idx;
CREATE INDEX page_views_master_sealed_idx ON page_views (company_id)
  WHERE NOT starts_with(ip_key_id, 'd-');
