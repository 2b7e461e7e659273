-- One search box over contacts, organisations and deals, inside the
-- workspace, answered from an index.
--
-- Why a terms table and not a trigram or full-text index: under FORCE'd
-- row-level security PostgreSQL uses an index condition only when its
-- operator is LEAKPROOF (otherwise the operator could see another
-- tenant's rows before the policy removes them). ILIKE, the trigram and
-- the full-text operators are not; text comparison (<, >=, =) is. So
-- every searchable text is split into lower-case terms kept here by
-- triggers, and a search is a prefix range on (company_id, term): an
-- index range scan that RLS allows. Marking ILIKE LEAKPROOF instead
-- would need a superuser and would weaken RLS for every query.

CREATE TABLE search_terms (
    company_id text NOT NULL REFERENCES companies (id),
    -- "C": byte order, so a prefix is exactly a range.
    term text COLLATE "C" NOT NULL CHECK (length(term) BETWEEN 1 AND 100),
    kind text NOT NULL CHECK (kind IN ('person', 'organisation', 'deal')),
    record_id uuid NOT NULL,
    PRIMARY KEY (company_id, term, kind, record_id)
);
CREATE INDEX search_terms_record_idx ON search_terms (company_id, kind, record_id);
SELECT metiva_apply_tenant_policy('search_terms');
-- Written only through the triggers below, which run as the writer (so
-- RLS checks their rows like any other).
GRANT SELECT, INSERT, DELETE ON search_terms TO metiva_app;

-- The terms of some texts: each whole text (an email, a domain) and each
-- word in it, lower-cased; words of one character are left out.
CREATE FUNCTION metiva_terms(texts text[]) RETURNS SETOF text
LANGUAGE sql IMMUTABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
  SELECT DISTINCT left(t, 100) FROM (
    SELECT btrim(lower(x)) AS t FROM unnest(texts) x WHERE x IS NOT NULL
    UNION ALL
    SELECT w FROM unnest(texts) x, regexp_split_to_table(lower(x), '[^[:alnum:]]+') w WHERE x IS NOT NULL
  ) s WHERE length(t) >= 2
$$;

-- Keeps a row's terms in step. Arguments: the kind, then the columns to
-- index.
CREATE FUNCTION metiva_index_search_terms() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  row_json jsonb;
  texts text[] := '{}';
  i int;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    DELETE FROM search_terms
     WHERE company_id = OLD.company_id AND kind = TG_ARGV[0] AND record_id = OLD.id;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    row_json := to_jsonb(NEW);
    FOR i IN 1 .. TG_NARGS - 1 LOOP
      texts := texts || (row_json ->> TG_ARGV[i]);
    END LOOP;
    INSERT INTO search_terms (company_id, term, kind, record_id)
    SELECT NEW.company_id, t, TG_ARGV[0], NEW.id FROM metiva_terms(texts) t
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER persons_search_terms AFTER INSERT OR DELETE OR UPDATE OF name, email ON persons
  FOR EACH ROW EXECUTE FUNCTION metiva_index_search_terms('person', 'name', 'email');
CREATE TRIGGER organisations_search_terms AFTER INSERT OR DELETE OR UPDATE OF name, domain ON organisations
  FOR EACH ROW EXECUTE FUNCTION metiva_index_search_terms('organisation', 'name', 'domain');
CREATE TRIGGER deals_search_terms AFTER INSERT OR DELETE OR UPDATE OF title ON deals
  FOR EACH ROW EXECUTE FUNCTION metiva_index_search_terms('deal', 'title');

-- Terms for the rows that exist, each workspace under its own binding.
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT id FROM companies LOOP
    PERFORM set_config('app.company_id', c.id, true);
    INSERT INTO search_terms (company_id, term, kind, record_id)
      SELECT p.company_id, t, 'person', p.id FROM persons p, metiva_terms(ARRAY[p.name, p.email]) t
      WHERE p.company_id = c.id ON CONFLICT DO NOTHING;
    INSERT INTO search_terms (company_id, term, kind, record_id)
      SELECT o.company_id, t, 'organisation', o.id FROM organisations o, metiva_terms(ARRAY[o.name, o.domain]) t
      WHERE o.company_id = c.id ON CONFLICT DO NOTHING;
    INSERT INTO search_terms (company_id, term, kind, record_id)
      SELECT d.company_id, t, 'deal', d.id FROM deals d, metiva_terms(ARRAY[d.title]) t
      WHERE d.company_id = c.id ON CONFLICT DO NOTHING;
  END LOOP;
  PERFORM set_config('app.company_id', '', true);
END
$$;
