DROP INDEX page_views_master_sealed_idx;
DROP TRIGGER page_views_reseal_to_dek_only ON page_views;
DROP FUNCTION metiva_page_view_reseal_to_dek_only();
REVOKE UPDATE (ip_key_id, ip_nonce, ip_ciphertext) ON page_views FROM metiva_app;
