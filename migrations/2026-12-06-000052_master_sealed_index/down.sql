DROP INDEX page_views_master_sealed_idx;
CREATE INDEX page_views_master_sealed_idx ON page_views (company_id)
  WHERE ip_key_id NOT LIKE 'd-%';
