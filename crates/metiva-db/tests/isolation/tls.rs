//! The TCP path an operator runs against managed PostgreSQL: SCRAM-SHA-256
//! and TLS, with `sslmode` meaning what libpq says. The test cluster
//! accepts TCP only as `hostssl … scram-sha-256`, with a certificate for
//! `localhost` and 127.0.0.1 signed by a CA made for the run.

use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use metiva_db::{DbError, DbUrl};
use metiva_testkit::{TEST_PASSWORD, TestDb};

fn tcp() -> (String, String) {
    metiva_testkit::tcp_setup()
        .unwrap_or_else(|| panic!("needs the test cluster's TLS listener: run `cargo xtask test` (or `cargo xtask test-db`)"))
}

fn url(tdb: &TestDb, host: &str, params: &str) -> String {
    let (addr, _) = tcp();
    let port = addr.rsplit(':').next().unwrap_or("5432");
    format!(
        "postgresql://metiva_app:{TEST_PASSWORD}@{host}:{port}/{}?{params}",
        tdb.name
    )
}

#[derive(QueryableByName)]
struct Ssl {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    ssl: bool,
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

#[expect(
    clippy::disallowed_methods,
    reason = "the proofs open raw connections with each TLS setting"
)]
async fn open(u: &str) -> Result<diesel_async::AsyncPgConnection, DbError> {
    DbUrl::parse(u)?.open().await
}

/// `verify-full` connects, and the session is encrypted (TLS 1.3).
#[tokio::test]
async fn verify_full_connects_encrypted() {
    let tdb = TestDb::new().await;
    let (_, ca) = tcp();
    let mut conn = open(&url(
        &tdb,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let s: Ssl = diesel::sql_query(
        "SELECT ssl, coalesce(version, '') AS version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .get_result(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(s.ssl);
    assert_eq!(s.version, "TLSv1.3");
}

/// Fail closed: a server whose certificate does not chain to the given
/// root, or does not name the host asked for, is refused before any
/// password goes out; `verify-ca` checks the chain but not the name.
#[tokio::test]
async fn a_certificate_that_does_not_verify_is_refused() {
    let tdb = TestDb::new().await;
    let (addr, ca) = tcp();
    let ip = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    // The system's CAs did not sign our test server's certificate.
    let foreign = open(&url(
        &tdb,
        "localhost",
        "sslmode=verify-full&sslrootcert=system",
    ))
    .await;
    assert!(
        matches!(foreign, Err(DbError::Unavailable(_))),
        "{:?}",
        foreign.err()
    );
    // Reach 127.0.0.1 while asking for another name.
    let other_name = format!("sslmode=verify-full&sslrootcert={ca}&hostaddr={ip}");
    let refused = open(&url(&tdb, "db.metiva.example", &other_name)).await;
    assert!(refused.is_err(), "verify-full must check the host name");
    let chain_only = format!("sslmode=verify-ca&sslrootcert={ca}&hostaddr={ip}");
    assert!(
        open(&url(&tdb, "db.metiva.example", &chain_only))
            .await
            .is_ok(),
        "verify-ca checks the chain only"
    );
}

/// SCRAM: a wrong password is refused; and the server takes no plain-text
/// TCP at all (`sslmode=disable` is refused by the server's rules).
#[tokio::test]
async fn scram_and_tls_are_both_required() {
    let tdb = TestDb::new().await;
    let (_, ca) = tcp();
    let wrong = url(
        &tdb,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    )
    .replace(TEST_PASSWORD, "not-the-password");
    assert!(open(&wrong).await.is_err());
    assert!(
        open(&url(&tdb, "localhost", "sslmode=disable"))
            .await
            .is_err()
    );
}
