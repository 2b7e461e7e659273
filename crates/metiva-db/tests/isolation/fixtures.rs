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

/// Two queries of kept figures and their recount, read by the owner under
/// `company`'s binding in one REPEATABLE READ snapshot (the rollups' and
/// the kept counts' consistency tests).
pub async fn kept_and_recount<T>(
    tdb: &TestDb,
    company: &str,
    kept: &str,
    recount: &str,
) -> (Vec<T>, Vec<T>)
where
    T: diesel::QueryableByName<diesel::pg::Pg> + Send + 'static,
{
    use diesel_async::RunQueryDsl;
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ;
             SELECT set_config('app.company_id', '{company}', true);"
        ),
    )
    .await;
    let mut read = async |sql: &str| -> Vec<T> {
        diesel::sql_query(sql)
            .load(&mut owner)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let kept = read(kept).await;
    let recount = read(recount).await;
    exec(&mut owner, "COMMIT;").await;
    (kept, recount)
}

/// The ids `sql` selects (one uuid column named `id`), read by the owner
/// under `company`'s binding.
pub async fn ids(tdb: &TestDb, company: &str, sql: &str) -> Vec<uuid::Uuid> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let (rows, _) =
        kept_and_recount::<Id>(tdb, company, sql, "SELECT NULL::uuid AS id LIMIT 0").await;
    rows.into_iter().map(|r| r.id).collect()
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

/// A signed-in member of `company` with `role`: a user (numbered `n`), a
/// live session and an active membership, resolved to a context the way
/// the guard resolves one.
pub async fn member_ctx(
    tdb: &TestDb,
    db: &metiva_db::Database,
    company: &str,
    n: u128,
    role: &str,
) -> metiva_db::TenantCtx {
    let user = uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | (n << 8));
    let session = uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | (n << 8) | 1);
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!(
            "INSERT INTO users (id, email, name) VALUES ('{user}', 'u{n}@{company}.example', 'User {n}')
                 ON CONFLICT (id) DO NOTHING;
             INSERT INTO sessions (id, user_id, secret_hash, expires_at)
                 VALUES ('{session}', '{user}', sha256('{session}'), now() + interval '1 hour')
                 ON CONFLICT (id) DO NOTHING;
             BEGIN; SELECT set_config('app.company_id', '{company}', true);
             INSERT INTO memberships (company_id, user_id, role) VALUES ('{company}', '{user}', '{role}');
             COMMIT;"
        ),
    )
    .await;
    db.resolve_access(&cid(company), user, session)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the fixture's access should resolve"))
}
