DROP TRIGGER deals_search_terms ON deals;
DROP TRIGGER organisations_search_terms ON organisations;
DROP TRIGGER persons_search_terms ON persons;
DROP FUNCTION metiva_index_search_terms();
DROP FUNCTION metiva_terms(text[]);
DROP TABLE search_terms;
