DROP TRIGGER page_views_daily_insert ON page_views;
DROP TRIGGER page_views_daily_delete ON page_views;
DROP FUNCTION metiva_rebuild_page_view_rollups(text);
DROP FUNCTION metiva_page_view_daily_remove();
DROP FUNCTION metiva_page_view_daily_add();
DROP TABLE page_view_daily;
