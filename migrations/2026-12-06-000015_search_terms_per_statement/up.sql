-- New rows get their search terms once per statement, not once per row:
-- a CSV import of 20,000 contacts is one INSERT, and a row trigger ran
-- PL/pgSQL, to_jsonb and its own INSERT 20,000 times. The statement
-- trigger reads the inserted rows from the transition table and writes
-- all their terms in one INSERT … SELECT (checked by RLS like any other
-- write: it runs as the writer). Updates and deletes keep the row
-- trigger: they come one at a time from the forms.

CREATE FUNCTION metiva_index_new_persons() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO search_terms (company_id, term, kind, record_id)
  SELECT n.company_id, t, 'person', n.id FROM new_rows n, metiva_terms(ARRAY[n.name, n.email]) t
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

CREATE FUNCTION metiva_index_new_organisations() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO search_terms (company_id, term, kind, record_id)
  SELECT n.company_id, t, 'organisation', n.id FROM new_rows n, metiva_terms(ARRAY[n.name, n.domain]) t
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

CREATE FUNCTION metiva_index_new_deals() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO search_terms (company_id, term, kind, record_id)
  SELECT n.company_id, t, 'deal', n.id FROM new_rows n, metiva_terms(ARRAY[n.title]) t
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;

DROP TRIGGER persons_search_terms ON persons;
DROP TRIGGER organisations_search_terms ON organisations;
DROP TRIGGER deals_search_terms ON deals;

CREATE TRIGGER persons_search_terms AFTER DELETE OR UPDATE OF name, email ON persons
  FOR EACH ROW EXECUTE FUNCTION metiva_index_search_terms('person', 'name', 'email');
CREATE TRIGGER organisations_search_terms AFTER DELETE OR UPDATE OF name, domain ON organisations
  FOR EACH ROW EXECUTE FUNCTION metiva_index_search_terms('organisation', 'name', 'domain');
CREATE TRIGGER deals_search_terms AFTER DELETE OR UPDATE OF title ON deals
  FOR EACH ROW EXECUTE FUNCTION metiva_index_search_terms('deal', 'title');

CREATE TRIGGER persons_search_terms_insert AFTER INSERT ON persons
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_index_new_persons();
CREATE TRIGGER organisations_search_terms_insert AFTER INSERT ON organisations
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_index_new_organisations();
CREATE TRIGGER deals_search_terms_insert AFTER INSERT ON deals
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION metiva_index_new_deals();
