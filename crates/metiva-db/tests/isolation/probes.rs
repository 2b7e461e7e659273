//! Raw-SQL probes as `metiva_app`: what the database itself refuses,
//! independent of any Rust code.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, three_companies};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

async fn affected(conn: &mut AsyncPgConnection, sql: &str) -> Result<usize, String> {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .map_err(|e| e.to_string())
}

const TENANT_TABLES: &[&str] = &["memberships", "persons", "deals", "audit_log", "companies"];

#[tokio::test]
async fn without_context_the_app_sees_nothing_and_cannot_write() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let mut app = tdb.connect_as("metiva_app").await;
    for t in TENANT_TABLES {
        assert_eq!(
            count(&mut app, &format!("SELECT count(*) AS n FROM {t}")).await,
            0,
            "{t}"
        );
    }
    let err = affected(
        &mut app,
        &format!("INSERT INTO persons (company_id, name) VALUES ('{A}', 'x')"),
    )
    .await;
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("row-level security")),
        "{err:?}"
    );
    // Not even inside a transaction that never set the context.
    app.batch_execute("BEGIN")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        count(&mut app, "SELECT count(*) AS n FROM persons").await,
        0
    );
    app.batch_execute("ROLLBACK")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn with_context_a_the_app_cannot_touch_b() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let mut app = tdb.connect_as("metiva_app").await;
    app.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{A}', true)"
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    // Reads: only A's rows, even when asking for B's by name.
    assert_eq!(
        count(&mut app, "SELECT count(*) AS n FROM persons").await,
        1
    );
    assert_eq!(
        count(
            &mut app,
            &format!("SELECT count(*) AS n FROM persons WHERE company_id = '{B}'")
        )
        .await,
        0
    );
    assert_eq!(
        count(&mut app, "SELECT count(*) AS n FROM companies").await,
        1
    );
    // Updates and deletes of B's rows touch nothing.
    assert_eq!(
        affected(
            &mut app,
            &format!("UPDATE persons SET name = 'pwned' WHERE company_id = '{B}'")
        )
        .await,
        Ok(0)
    );
    assert_eq!(
        affected(
            &mut app,
            &format!("DELETE FROM persons WHERE company_id = '{B}'")
        )
        .await,
        Ok(0)
    );
    assert_eq!(
        affected(
            &mut app,
            &format!("UPDATE companies SET name = 'pwned' WHERE id = '{B}'")
        )
        .await,
        Ok(0)
    );

    // Inserts into B are rejected by WITH CHECK.
    app.batch_execute("SAVEPOINT s")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = affected(
        &mut app,
        &format!("INSERT INTO persons (company_id, name) VALUES ('{B}', 'planted')"),
    )
    .await;
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("row-level security")),
        "{err:?}"
    );
    app.batch_execute("ROLLBACK TO SAVEPOINT s")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // Moving A's own row into B is rejected too.
    let err = affected(&mut app, &format!("UPDATE persons SET company_id = '{B}'")).await;
    assert!(
        err.as_ref()
            .is_err_and(|e| e.contains("row-level security")),
        "{err:?}"
    );
    app.batch_execute("ROLLBACK")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // B's data is untouched (checked as B).
    app.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{B}', true)"
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        count(
            &mut app,
            "SELECT count(*) AS n FROM persons WHERE name = 'Bravo lead'"
        )
        .await,
        1
    );
    app.batch_execute("COMMIT")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn the_app_cannot_truncate_or_rewrite_the_audit_log() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let mut app = tdb.connect_as("metiva_app").await;
    for t in ["persons", "deals", "memberships", "audit_log", "companies"] {
        let err = affected(&mut app, &format!("TRUNCATE {t}")).await;
        assert!(
            err.as_ref().is_err_and(|e| e.contains("permission denied")),
            "{t}: {err:?}"
        );
    }
    app.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{A}', true);
         INSERT INTO audit_log (company_id, action) VALUES ('{A}', 'test.probe');"
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    for sql in ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"] {
        app.batch_execute("SAVEPOINT s")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let err = affected(&mut app, sql).await;
        assert!(
            err.as_ref().is_err_and(|e| e.contains("permission denied")),
            "{sql}: {err:?}"
        );
        app.batch_execute("ROLLBACK TO SAVEPOINT s")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    app.batch_execute("COMMIT")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Nullable<Text>)]
    s: Option<String>,
}

#[tokio::test]
async fn a_reused_connection_reports_empty_context_and_sees_nothing() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let mut app = tdb.connect_as("metiva_app").await;
    app.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{A}', true); COMMIT;"
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let s = diesel::sql_query("SELECT current_setting('app.company_id', true) AS s")
        .get_result::<Setting>(&mut app)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // '' and not NULL: this is why the policies use NULLIF.
    assert_eq!(s.s.as_deref(), Some(""));
    assert_eq!(
        count(&mut app, "SELECT count(*) AS n FROM persons").await,
        0
    );
}

#[tokio::test]
async fn users_are_visible_only_through_a_membership_and_never_their_hash() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    owner
        .batch_execute(&format!(
            "INSERT INTO users (id, email, name, password_hash) VALUES
               ('00000000-0000-0000-0000-00000000000a', 'a@alpha.example', 'Ann', 'x'),
               ('00000000-0000-0000-0000-00000000000b', 'b@bravo.example', 'Bob', 'x');
             BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO memberships (company_id, user_id, role) VALUES ('{A}', '00000000-0000-0000-0000-00000000000a', 'owner'); COMMIT;
             BEGIN; SELECT set_config('app.company_id', '{B}', true);
             INSERT INTO memberships (company_id, user_id, role) VALUES ('{B}', '00000000-0000-0000-0000-00000000000b', 'owner'); COMMIT;"
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut app = tdb.connect_as("metiva_app").await;
    app.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{A}', true)"
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count(&mut app, "SELECT count(*) AS n FROM users").await, 1);
    assert_eq!(
        count(
            &mut app,
            "SELECT count(*) AS n FROM users WHERE email = 'b@bravo.example'"
        )
        .await,
        0
    );
    let err = affected(&mut app, "SELECT password_hash FROM users").await;
    assert!(
        err.as_ref().is_err_and(|e| e.contains("permission denied")),
        "{err:?}"
    );
    app.batch_execute("ROLLBACK")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[derive(QueryableByName)]
struct Outcome {
    #[diesel(sql_type = Text)]
    outcome: String,
}

async fn probe_foreign_write(app: &mut AsyncPgConnection) -> String {
    app.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{A}', true)"
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let o: Outcome = diesel::sql_query("SELECT metiva_probe_foreign_write($1) AS outcome")
        .bind::<Text, _>(B)
        .get_result(app)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.batch_execute("COMMIT")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    o.outcome
}

/// The security page's write probe classifies by SQLSTATE: refused (42501)
/// while the restrictive policy stands, "written" once it is gone, and in
/// neither case does its row remain.
#[tokio::test]
async fn the_write_probe_tells_a_policy_refusal_from_a_write() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let mut app = tdb.connect_as("metiva_app").await;
    let got = probe_foreign_write(&mut app).await;
    assert!(got.starts_with("refused:"), "{got}");

    let mut owner = tdb.connect_as("metiva_owner").await;
    owner
        // (search_terms too: a person's insert writes its search terms,
        // which that table's own policy would otherwise refuse.)
        .batch_execute(
            "DROP POLICY tenant_isolation ON persons; DROP POLICY tenant_isolation ON search_terms",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = probe_foreign_write(&mut app).await;
    assert_eq!(got, "written:1");
    let left = count(
        &mut owner,
        "SELECT count(*) AS n FROM persons WHERE name = 'isolation self-test'",
    )
    .await;
    assert_eq!(left, 0, "the probe's row must not remain");
}
