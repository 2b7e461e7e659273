//! How a lease binds its transaction on the stock driver: `BEGIN`, the
//! binding, the closure's queries and `COMMIT` in order, whatever is or
//! is not prepared yet, and nothing of a lease running under the next one.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use futures::StreamExt;
use metiva_db::DbError;
use metiva_db::repo::{persons, probe};
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, cid, three_companies};
use crate::pool_leak::{assert_b_sees_only_b, new_person, one_connection};

/// The names of A's persons.
async fn names_of_a(db: &metiva_db::Database) -> Vec<String> {
    db.tenant_read(&cid(A), async |tc| persons::list(tc, 10).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|p| p.name)
        .collect()
}

/// `probe::inside` and `probe::transaction` are raw statements, never
/// cached: each is prepared in a round trip of its own, every time. On a
/// connection whose binding is already prepared (so the lease pipelines
/// BEGIN, the binding and the closure), such a statement still runs inside
/// the bound transaction, first in the closure or last.
#[tokio::test]
async fn an_unprepared_statement_runs_inside_the_bound_transaction() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&one_connection());
    // Warm the one connection: its binding statement is now prepared.
    db.tenant_read(&cid(B), async |tc| persons::list(tc, 10).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for write in [false, true] {
        let run = async |tc: &mut metiva_db::TenantConn<'_>| {
            let first = probe::inside(tc).await?;
            let t1 = probe::transaction(tc).await?;
            let rows = persons::list(tc, 10).await?;
            let t2 = probe::transaction(tc).await?;
            let last = probe::inside(tc).await?;
            Ok((first, last, t1, t2, rows))
        };
        let (first, last, t1, t2, rows) = if write {
            db.tenant(&cid(A), run).await
        } else {
            db.tenant_read(&cid(A), run).await
        }
        .unwrap_or_else(|e| panic!("{e}"));
        for p in [&first, &last] {
            assert_eq!(p.setting.as_deref(), Some(A), "write={write}");
            assert_eq!(p.visible_persons, 1, "write={write}");
        }
        assert_eq!(t1.transaction_started, t2.transaction_started);
        assert!(rows.iter().all(|p| p.company_id == A));
    }
    // A write whose statement is first prepared at the end of the closure
    // is inside the transaction that COMMIT ends: it is durable, and A's.
    let fresh = tdb.database_with(&one_connection());
    fresh
        .tenant(&cid(A), async |tc| {
            probe::inside(tc).await?;
            persons::create(tc, &new_person("Late write")).await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let names = names_of_a(&db).await;
    assert!(names.iter().any(|n| n == "Late write"), "{names:?}");
}

/// A query future the closure drops after sending it (a timeout, a lost
/// `select!`) still runs, but inside its own lease's transaction: the
/// NOTIFY it sends names A and arrives when A's lease commits, and the next
/// lease on the same connection, for B, runs nothing of it.
#[tokio::test]
#[expect(
    clippy::disallowed_methods,
    reason = "a LISTEN connection of the test's own, outside the pool"
)]
async fn a_dropped_query_future_never_runs_under_the_next_lease() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&one_connection());
    // diesel-async's own connection: it delivers notifications (pooled
    // connections do not need them, and `DbUrl::open` drops them).
    let mut listener =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(
            &metiva_testkit::socket_url("metiva_owner", &tdb.name),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    diesel::sql_query(format!("LISTEN {}", probe::SIGNAL_CHANNEL))
        .execute(&mut listener)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    for (how, write) in [("timeout", false), ("select", false), ("timeout", true)] {
        let run = async |tc: &mut metiva_db::TenantConn<'_>| {
            if how == "timeout" {
                let gave_up =
                    tokio::time::timeout(Duration::from_millis(30), probe::signal_after(tc, 0.3))
                        .await;
                assert!(gave_up.is_err(), "the probe should still be running");
            } else {
                tokio::select! {
                    r = probe::signal_after(tc, 0.3) => panic!("the probe won: {r:?}"),
                    () = tokio::time::sleep(Duration::from_millis(30)) => {}
                }
            }
            Ok::<_, DbError>(())
        };
        if write {
            db.tenant(&cid(A), run).await
        } else {
            db.tenant_read(&cid(A), run).await
        }
        .unwrap_or_else(|e| panic!("{how}: {e}"));
        // The next lease on the only connection is B's.
        assert_b_sees_only_b(&db).await;

        let mut stream = std::pin::pin!(listener.notifications_stream());
        let n = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap_or_else(|_| panic!("{how}: no notification: the dropped query never ran"))
            .unwrap_or_else(|| panic!("stream ended"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            n.payload, A,
            "{how}, write={write}: ran under the wrong tenant"
        );
    }
}

/// The access assertion travels with the binding: once a session is
/// revoked, a lease for a context resolved before fails as
/// `AccessRevoked`, not as the 25P02 its queries then get in the aborted
/// transaction, and nothing it wrote stays.
#[tokio::test]
async fn a_failed_binding_is_reported_as_such() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    crate::fixtures::exec(
        &mut owner,
        "INSERT INTO users (id, email, name, password_hash)
             VALUES ('00000000-0000-4000-8000-00000000000a', 'u@a.example', 'U', '$2b$04$x');
         INSERT INTO sessions (id, user_id, secret_hash, expires_at)
             VALUES ('00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000a',
                     sha256('s'), now() + interval '1 hour');
         BEGIN; SELECT set_config('app.company_id', 'cmp_aaaaaa', true);
         INSERT INTO memberships (company_id, user_id, role)
             VALUES ('cmp_aaaaaa', '00000000-0000-4000-8000-00000000000a', 'owner');
         COMMIT;",
    )
    .await;
    let db = tdb.database_with(&one_connection());
    let user = uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_000a);
    let session = uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_000b);
    let ctx = db
        .resolve_access(&cid(A), user, session)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the fixture's access should resolve"));
    // Twice each way: the first lease prepares the binding, the second
    // sends it in the same flight as the closure's queries.
    for _ in 0..2 {
        let ok = db
            .in_tenant_read(&ctx, async |tc| probe::inside(tc).await)
            .await;
        assert_eq!(
            ok.unwrap_or_else(|e| panic!("{e}")).setting.as_deref(),
            Some(A)
        );
    }
    crate::fixtures::exec(
        &mut owner,
        "UPDATE sessions SET revoked_at = now() WHERE id = '00000000-0000-4000-8000-00000000000b'",
    )
    .await;
    for _ in 0..2 {
        let read = db
            .in_tenant_read(&ctx, async |tc| persons::list(tc, 10).await)
            .await;
        assert!(matches!(read, Err(DbError::AccessRevoked)), "{read:?}");
        let write = db
            .in_tenant(&ctx, async |tc| {
                persons::create(tc, &new_person("After revocation")).await
            })
            .await;
        assert!(matches!(write, Err(DbError::AccessRevoked)), "{write:?}");
    }
    let names = names_of_a(&db).await;
    assert!(!names.iter().any(|n| n == "After revocation"), "{names:?}");
}
