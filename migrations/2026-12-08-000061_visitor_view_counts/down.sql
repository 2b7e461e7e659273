DROP TRIGGER page_views_visitor_counts_delete ON page_views;
DROP TRIGGER page_views_visitor_counts_insert ON page_views;
DROP FUNCTION metiva_visitor_view_counts_apply();
ALTER TABLE visitors DROP COLUMN views_count;
