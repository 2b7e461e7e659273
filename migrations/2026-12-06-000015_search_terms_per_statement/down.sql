DROP TRIGGER deals_search_terms_insert ON deals;
DROP TRIGGER organisations_search_terms_insert ON organisations;
DROP TRIGGER persons_search_terms_insert ON persons;
DROP TRIGGER deals_search_terms ON deals;
DROP TRIGGER organisations_search_terms ON organisations;
DROP TRIGGER persons_search_terms ON persons;
CREATE TRIGGER persons_search_terms AFTER INSERT OR DELETE OR UPDATE OF name, email ON persons
  FOR EACH ROW EXECUTE FUNCTION metiva_index_search_terms('person', 'name', 'email');
CREATE TRIGGER organisations_search_terms AFTER INSERT OR DELETE OR UPDATE OF name, domain ON organisations
  FOR EACH ROW EXECUTE FUNCTION metiva_index_search_terms('organisation', 'name', 'domain');
CREATE TRIGGER deals_search_terms AFTER INSERT OR DELETE OR UPDATE OF title ON deals
  FOR EACH ROW EXECUTE FUNCTION metiva_index_search_terms('deal', 'title');
DROP FUNCTION metiva_index_new_deals();
DROP FUNCTION metiva_index_new_organisations();
DROP FUNCTION metiva_index_new_persons();
