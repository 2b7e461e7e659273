//! Shared fixtures: companies and users created as the owner role, with
//! the tenant context set per company (FORCE RLS applies to the owner too).

use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use metiva_db::CompanyId;
use metiva_testkit::TestDb;

pub const A: &str = "cmp_aaaaaa";
pub const B: &str = "cmp_bbbbbb";
pub const C: &str = "cmp_cccccc";

pub fn cid(s: &str) -> CompanyId {
    CompanyId::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

pub async fn exec(conn: &mut AsyncPgConnection, sql: &str) {
    conn.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// As [`exec`], returning the error instead of failing the test.
pub async fn try_exec(conn: &mut AsyncPgConnection, sql: &str) -> diesel::QueryResult<()> {
    let r = conn.batch_execute(sql).await;
    if r.is_err() {
        // Leave no aborted transaction behind on the connection.
        let _ = conn.batch_execute("ROLLBACK").await;
    }
    r
}

/// Three companies with one person each, created by the owner.
pub async fn three_companies(tdb: &TestDb) {
    let mut owner = tdb.connect_as("metiva_owner").await;
    for (id, name) in [(A, "Alpha"), (B, "Bravo"), (C, "Charlie")] {
        exec(
            &mut owner,
            &format!(
                "BEGIN; SELECT set_config('app.company_id', '{id}', true);
                 INSERT INTO companies (id, name) VALUES ('{id}', '{name}');
                 INSERT INTO persons (company_id, name, email) VALUES ('{id}', '{name} lead', 'lead@{}.example');
                 COMMIT;", name.to_lowercase()
            ),
        )
        .await;
    }
}
