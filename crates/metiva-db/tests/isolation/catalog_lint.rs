//! The catalog lint passes on the real schema, and catches each rule when
//! a table breaks it.

use metiva_db::catalog;
use metiva_testkit::TestDb;

use crate::fixtures::exec;

#[tokio::test]
async fn the_migrated_schema_passes_the_lint() {
    let tdb = TestDb::new().await;
    let findings = catalog::lint_url(&tdb.app_url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        findings.is_empty(),
        "lint findings on the real schema: {findings:#?}"
    );
    let conn = tdb.connect_as("metiva_app").await;
    let n = catalog::tenant_table_count(&conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        n >= 4,
        "expected at least memberships, persons, deals, audit_log; got {n}"
    );
}

/// Creates `sql` as the owner (or the superuser), lints, and expects the
/// named rule to fire on `object`.
async fn expect_rule(as_superuser: bool, sql: &str, rule: &str, object: &str) {
    let tdb = TestDb::new().await;
    let mut conn = tdb
        .connect_as(if as_superuser {
            "postgres"
        } else {
            "metiva_owner"
        })
        .await;
    exec(&mut conn, sql).await;
    let findings = catalog::lint_url(&tdb.app_url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        findings
            .iter()
            .any(|f| f.rule == rule && f.object.contains(object)),
        "rule {rule} did not fire on {object}; findings: {findings:#?}"
    );
}

const GOOD: &str = "
    ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;
    CREATE POLICY base ON t AS PERMISSIVE FOR ALL USING (true) WITH CHECK (true);
    CREATE POLICY iso ON t AS RESTRICTIVE FOR ALL
      USING (company_id = (SELECT NULLIF(current_setting('app.company_id', true), '')::text))
      WITH CHECK (company_id = (SELECT NULLIF(current_setting('app.company_id', true), '')::text));";

#[tokio::test]
async fn a_table_following_every_rule_passes() {
    let tdb = TestDb::new().await;
    let mut conn = tdb.connect_as("metiva_owner").await;
    exec(&mut conn, &format!("CREATE TABLE t (company_id text NOT NULL, id int, PRIMARY KEY (company_id, id)); {GOOD}")).await;
    let findings = catalog::lint_url(&tdb.app_url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[tokio::test]
async fn catches_rls_not_enabled() {
    expect_rule(
        false,
        "CREATE TABLE t (company_id text, id int, PRIMARY KEY (company_id, id))",
        "enable_rls",
        "public.t",
    )
    .await;
}

#[tokio::test]
async fn catches_rls_not_forced() {
    expect_rule(
        false,
        &format!("CREATE TABLE t (company_id text, id int, PRIMARY KEY (company_id, id)); {GOOD} ALTER TABLE t NO FORCE ROW LEVEL SECURITY;"),
        "force_rls",
        "public.t",
    )
    .await;
}

#[tokio::test]
async fn catches_a_table_in_another_schema() {
    expect_rule(
        false,
        "CREATE SCHEMA side; CREATE TABLE side.t (company_id text, id int, PRIMARY KEY (company_id, id))",
        "force_rls",
        "side.t",
    )
    .await;
}

#[tokio::test]
async fn catches_a_missing_policy() {
    expect_rule(
        false,
        "CREATE TABLE t (company_id text, id int, PRIMARY KEY (company_id, id));
         ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;",
        "restrictive_tenant_policy",
        "public.t",
    )
    .await;
}

#[tokio::test]
async fn catches_a_policy_without_with_check() {
    expect_rule(
        false,
        "CREATE TABLE t (company_id text, id int, PRIMARY KEY (company_id, id));
         ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;
         CREATE POLICY iso ON t AS RESTRICTIVE FOR SELECT
           USING (company_id = (SELECT NULLIF(current_setting('app.company_id', true), '')::text));",
        "restrictive_tenant_policy",
        "public.t",
    )
    .await;
}

#[tokio::test]
async fn catches_a_permissive_tenant_policy() {
    expect_rule(
        false,
        "CREATE TABLE t (company_id text, id int, PRIMARY KEY (company_id, id));
         ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;
         CREATE POLICY iso ON t AS PERMISSIVE FOR ALL
           USING (company_id = (SELECT NULLIF(current_setting('app.company_id', true), '')::text))
           WITH CHECK (company_id = (SELECT NULLIF(current_setting('app.company_id', true), '')::text));",
        "permissive_tenant_policy",
        "public.t",
    )
    .await;
}

#[tokio::test]
async fn catches_a_policy_without_nullif() {
    // current_setting without NULLIF: '' on a reused connection is not NULL.
    expect_rule(
        false,
        "CREATE TABLE t (company_id text, id int, PRIMARY KEY (company_id, id));
         ALTER TABLE t ENABLE ROW LEVEL SECURITY; ALTER TABLE t FORCE ROW LEVEL SECURITY;
         CREATE POLICY iso ON t AS RESTRICTIVE FOR ALL
           USING (company_id = current_setting('app.company_id', true))
           WITH CHECK (company_id = current_setting('app.company_id', true));",
        "restrictive_tenant_policy",
        "public.t",
    )
    .await;
}

#[tokio::test]
async fn catches_a_missing_company_index() {
    expect_rule(
        false,
        &format!("CREATE TABLE t (company_id text, id int PRIMARY KEY); {GOOD}"),
        "company_id_index",
        "public.t",
    )
    .await;
}

#[tokio::test]
async fn catches_a_composite_index_not_leading_with_company_id() {
    expect_rule(
        false,
        &format!("CREATE TABLE t (company_id text, id int, PRIMARY KEY (company_id, id)); {GOOD} CREATE INDEX t_bad ON t (id, company_id);"),
        "composite_index_leads_with_company_id",
        "t_bad",
    )
    .await;
}

#[tokio::test]
async fn catches_a_non_composite_foreign_key() {
    expect_rule(
        false,
        &format!(
            "CREATE TABLE t (company_id text, id int, person_id uuid, PRIMARY KEY (company_id, id)); {GOOD}
             ALTER TABLE persons ADD CONSTRAINT persons_id_unique UNIQUE (id);
             ALTER TABLE t ADD CONSTRAINT t_person_fk FOREIGN KEY (person_id) REFERENCES persons (id);"
        ),
        "composite_foreign_key",
        "t_person_fk",
    )
    .await;
}

#[tokio::test]
async fn catches_a_unique_key_without_company_id() {
    expect_rule(
        false,
        &format!(
            "CREATE TABLE t (company_id text, id int, code text, PRIMARY KEY (company_id, id)); {GOOD}
             ALTER TABLE t ADD CONSTRAINT t_code_key UNIQUE (code);"
        ),
        "unique_includes_company_id",
        "t_code_key",
    )
    .await;
}

#[tokio::test]
async fn catches_a_primary_key_without_company_id() {
    expect_rule(
        false,
        &format!("CREATE TABLE t (company_id text, id int PRIMARY KEY); {GOOD}"),
        "unique_includes_company_id",
        "t_pkey",
    )
    .await;
}

#[tokio::test]
async fn catches_truncate_granted_to_the_app() {
    expect_rule(
        false,
        "GRANT TRUNCATE ON persons TO metiva_app",
        "no_truncate_for_app",
        "public.persons",
    )
    .await;
}

#[tokio::test]
async fn catches_an_audit_log_the_app_can_rewrite() {
    expect_rule(
        false,
        "GRANT UPDATE ON audit_log TO metiva_app",
        "audit_log_append_only",
        "public.audit_log",
    )
    .await;
}

#[tokio::test]
async fn catches_a_view_without_security_invoker() {
    expect_rule(
        false,
        "CREATE VIEW v AS SELECT * FROM persons",
        "view_security_invoker",
        "public.v",
    )
    .await;
}

#[tokio::test]
async fn accepts_a_security_invoker_view() {
    let tdb = TestDb::new().await;
    let mut conn = tdb.connect_as("metiva_owner").await;
    exec(
        &mut conn,
        "CREATE VIEW v WITH (security_invoker = true) AS SELECT * FROM persons",
    )
    .await;
    let findings = catalog::lint_url(&tdb.app_url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[tokio::test]
async fn catches_a_superuser_security_definer_function() {
    expect_rule(
        true,
        "CREATE FUNCTION leak() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM persons'",
        "security_definer_superuser",
        "leak()",
    )
    .await;
}
