//! A one-statement read (`Database::in_tenant_read_one`, the person
//! record) sends `BEGIN`, the binding, its statement and `COMMIT` in one
//! flight once the statement is prepared on the connection (issue 15).
//! `COMMIT` must never overtake the statement: the statement would then
//! run outside the bound transaction. Each read here is polled by a task
//! whose cooperative-scheduling budget is used up, the case in which
//! diesel-async's statement-cache lock (a tokio mutex) answers "not yet"
//! while a simple query such as `COMMIT` goes out at once: the person is
//! found, in its own workspace, only if the statement still ran inside
//! the transaction.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use metiva_db::{DbError, PoolSettings};
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, B, cid, exec, member_ctx, three_companies};
use crate::pool_leak::one_connection;

/// The id both workspaces use for their person.
const SAME: Uuid = Uuid::from_u128(0x0f11_0000_0000_4000_8000_0000_0000_0001);

/// Polls the inner future the first time with only `left` units of the
/// task's cooperative budget (128 when scheduled) still unused: the
/// connection checkout itself spends some, so across `left` = 0..8 some
/// read starts its flight with the budget running out, the worst case for
/// the order of first polls. Later polls get the fresh budget a task gets
/// each time it is scheduled.
struct Exhausted<F> {
    inner: Pin<Box<F>>,
    left: Option<usize>,
}

fn exhausted<F: Future>(f: F, left: usize) -> Exhausted<F> {
    Exhausted {
        inner: Box::pin(f),
        left: Some(left),
    }
}

impl<F: Future> Future for Exhausted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if let Some(left) = self.left.take() {
            for _ in 0..128usize.saturating_sub(left) {
                let burn = std::pin::pin!(tokio::task::consume_budget());
                if burn.poll(cx).is_pending() {
                    break;
                }
            }
        }
        self.inner.as_mut().poll(cx)
    }
}

/// The next lease on the (only) connection, for B: B's binding and B's
/// two persons (the fixture's and `SAME`), nothing of an earlier lease.
async fn assert_b_sees_only_b(db: &metiva_db::Database) {
    let b = db
        .tenant_read(&cid(B), async |tc| metiva_db::repo::probe::inside(tc).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.setting.as_deref(), Some(B));
    assert_eq!(b.visible_persons, 2);
}

/// A person `SAME` in A and another with the same id in B.
async fn same_id_in_a_and_b(tdb: &TestDb) {
    let mut owner = tdb.connect_as("metiva_owner").await;
    for company in [A, B] {
        exec(
            &mut owner,
            &format!(
                "BEGIN; SELECT set_config('app.company_id', '{company}', true);
                 INSERT INTO persons (company_id, id, name) VALUES ('{company}', '{SAME}', 'Persoon {company}');
                 COMMIT;"
            ),
        )
        .await;
    }
}

#[tokio::test]
async fn commit_never_overtakes_the_one_statement() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    same_id_in_a_and_b(&tdb).await;
    let db = tdb.database_with(&one_connection());
    let a = member_ctx(&tdb, &db, A, 1, "viewer").await;
    let b = member_ctx(&tdb, &db, B, 2, "viewer").await;
    let before = db.one_flight_reads();
    // The very first read prepares the statement (ordinary lease); every
    // later one, for either workspace (the statement text is the same, the
    // company a bind value), is a single flight on the same connection.
    for round in 0..24 {
        for (ctx, company) in [(&a, A), (&b, B)] {
            let r = exhausted(db.person_record(ctx, SAME), round % 8)
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}"))
                .unwrap_or_else(|| {
                    panic!("round {round}: {company}'s person not found (the statement ran outside its transaction?)")
                });
            assert_eq!(r.person.company_id, company, "round {round}");
            assert_eq!(r.person.name, format!("Persoon {company}"), "round {round}");
            // The members list reads under the same binding: only this
            // workspace's own member.
            assert_eq!(r.members.len(), 1, "round {round}: {:?}", r.members);
        }
    }
    if metiva_testkit::pool_settings().statement_cache {
        // One read went the ordinary way (the statement's first use); the
        // other 47 flew as one.
        assert_eq!(db.one_flight_reads() - before, 47);
    } else {
        assert_eq!(db.one_flight_reads(), before);
    }
    // Nothing of those transactions is left on the connection.
    assert_b_sees_only_b(&db).await;
}

/// With the statement cache off (a transaction-mode pooler) nothing is
/// known to be prepared: every read takes the ordinary lease, and answers
/// the same.
#[tokio::test]
async fn without_the_statement_cache_no_read_flies_as_one() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    same_id_in_a_and_b(&tdb).await;
    let db = tdb.database_with(&PoolSettings {
        statement_cache: false,
        ..one_connection()
    });
    let a = member_ctx(&tdb, &db, A, 1, "viewer").await;
    for _ in 0..3 {
        let r = exhausted(db.person_record(&a, SAME), 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("A's person not found"));
        assert_eq!(r.person.name, format!("Persoon {A}"));
    }
    assert_eq!(db.one_flight_reads(), 0);
}

/// Revocation is immediate on the fast path too: the binding in the flight
/// refuses, the read answers `AccessRevoked` (not the statement's 25P02),
/// and the connection, whose COMMIT answered as a ROLLBACK, serves the
/// next request cleanly.
#[tokio::test]
async fn a_revoked_access_is_refused_in_one_flight() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    same_id_in_a_and_b(&tdb).await;
    let db = tdb.database_with(&one_connection());
    let a = member_ctx(&tdb, &db, A, 1, "viewer").await;
    for _ in 0..2 {
        db.person_record(&a, SAME)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("A's person not found"));
    }
    let flights = db.one_flight_reads();
    exec(
        &mut tdb.connect_as("metiva_owner").await,
        &format!(
            "UPDATE sessions SET revoked_at = now() WHERE id = '{}'",
            a.session_id()
        ),
    )
    .await;
    for _ in 0..2 {
        let read = db.person_record(&a, SAME).await;
        assert!(matches!(read, Err(DbError::AccessRevoked)), "{read:?}");
    }
    if metiva_testkit::pool_settings().statement_cache {
        assert_eq!(db.one_flight_reads() - flights, 2);
    }
    assert_b_sees_only_b(&db).await;
}
