//! A pool of ONE connection, so every request reuses the same session:
//! interleaved tenants, a failed closure and a cancelled request must leave
//! nothing behind for the next user.

use std::time::Duration;

use diesel_async::SimpleAsyncConnection;
use metiva_db::repo::{persons, probe};
use metiva_db::{DbError, PoolSettings};
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, C, cid, three_companies};

pub(crate) fn one_connection() -> PoolSettings {
    PoolSettings {
        max_size: 1,
        timeout: Duration::from_secs(5),
        ..metiva_testkit::pool_settings()
    }
}

pub(crate) fn new_person(name: &str) -> persons::PersonFields {
    persons::PersonFields {
        name: name.into(),
        ..Default::default()
    }
}

/// The next request on the (only) connection, for B: B's context and
/// exactly B's one fixture row.
pub(crate) async fn assert_b_sees_only_b(db: &metiva_db::Database) {
    let b = db
        .tenant_read(&cid(B), async |tc| probe::inside(tc).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.setting.as_deref(), Some(B));
    assert_eq!(b.visible_persons, 1);
}

/// A's persons contain no row named `name`.
async fn assert_a_lacks(db: &metiva_db::Database, name: &str) {
    let a = db
        .tenant_read(&cid(A), async |tc| persons::list(tc, 100).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(a.iter().all(|p| p.name != name), "{a:?}");
}

/// Outside any tenant request, a pooled connection has no A context and
/// sees no rows.
async fn assert_outside_carries_nothing_of_a(db: &metiva_db::Database) {
    let outside = db
        .probe_without_tenant()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(outside.setting.as_deref(), Some(A));
    assert_eq!(outside.visible_persons, 0);
}

#[tokio::test]
async fn interleaved_tenants_on_one_connection_see_only_their_own() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&one_connection());
    for round in 0..20 {
        for t in [A, B, C] {
            let company = cid(t);
            let seen = db
                .tenant_read(&company, async |tc| {
                    let p = probe::inside(tc).await?;
                    let all = persons::list(tc, 1000).await?;
                    Ok((p, all))
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(seen.0.setting.as_deref(), Some(t), "round {round}");
            assert!(
                seen.1.iter().all(|p| p.company_id == t),
                "round {round}: {:?}",
                seen.1
            );
            db.tenant(&company, async |tc| {
                persons::create(tc, &new_person(&format!("{t}-{round}"))).await
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    // Between requests the connection carries no tenant.
    let outside = db
        .probe_without_tenant()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outside.setting.as_deref(), Some(""));
    assert_eq!(outside.visible_persons, 0);
}

#[tokio::test]
async fn a_failed_closure_rolls_back_and_leaves_no_context() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&one_connection());
    let res: Result<(), DbError> = db
        .tenant(&cid(A), async |tc| {
            persons::create(tc, &new_person("never committed")).await?;
            Err(DbError::Rejected("the caller changed its mind".into()))
        })
        .await;
    assert!(res.is_err());
    assert_a_lacks(&db, "never committed").await;
    assert_b_sees_only_b(&db).await;
}

#[tokio::test]
async fn a_cancelled_request_leaves_no_transaction_and_no_context() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&one_connection());

    // Another session holds a lock on A's person, so the request below
    // blocks in the middle of its transaction, after it has written.
    let mut owner = tdb.connect_as("metiva_owner").await;
    owner
        .batch_execute(&format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true); SELECT * FROM persons FOR UPDATE;"
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let victim = db
        .tenant_read(&cid(A), async |tc| persons::list(tc, 1).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("fixture person"));

    let company_a = cid(A);
    let request = db.tenant(&company_a, async |tc| {
        persons::create(tc, &new_person("written before the cancel")).await?;
        persons::update(tc, victim.id, &new_person("blocked")).await
    });
    let cancelled = tokio::time::timeout(Duration::from_millis(500), request).await;
    assert!(
        cancelled.is_err(),
        "the request should have been cancelled while blocked"
    );
    owner
        .batch_execute("ROLLBACK")
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The next request gets a clean connection: B's context, B's rows;
    // and the cancelled transaction's write never committed.
    assert_b_sees_only_b(&db).await;
    assert_a_lacks(&db, "written before the cancel").await;
    assert_outside_carries_nothing_of_a(&db).await;
}

/// A read cancelled while its query is on the wire, inside A's bound
/// transaction: the connection is detached, never reused.
#[tokio::test]
async fn a_cancelled_read_leaves_no_binding_behind() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&one_connection());
    // Warm the one connection, so the cancelled read below reuses it.
    assert_b_sees_only_b(&db).await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    owner
        .batch_execute("BEGIN; LOCK TABLE persons IN ACCESS EXCLUSIVE MODE;")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let company_a = cid(A);
    let read = db.tenant_read(&company_a, async |tc| persons::list(tc, 10).await);
    let cancelled = tokio::time::timeout(Duration::from_millis(500), read).await;
    assert!(cancelled.is_err(), "the read should have been blocked");
    owner
        .batch_execute("ROLLBACK")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_b_sees_only_b(&db).await;
    assert_outside_carries_nothing_of_a(&db).await;
}

/// Many reads of three tenants at once over two connections, with writes
/// in between: each read sees its own tenant's context and rows only, so
/// no binding ever crosses from one lease to the next.
#[tokio::test]
async fn concurrent_reads_of_three_tenants_never_see_each_other() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&PoolSettings {
        max_size: 2,
        timeout: Duration::from_secs(10),
        ..metiva_testkit::pool_settings()
    });
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..12usize {
        let db = db.clone();
        tasks.spawn(async move {
            for i in 0..150usize {
                let t = [A, B, C][(worker + i) % 3];
                let company = cid(t);
                if i % 25 == 0 {
                    db.tenant(&company, async |tc| {
                        persons::create(tc, &new_person(&format!("{t}-{worker}-{i}"))).await
                    })
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                }
                let (ctx, rows) = db
                    .tenant_read(&company, async |tc| {
                        Ok((probe::inside(tc).await?, persons::list(tc, 1000).await?))
                    })
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(ctx.setting.as_deref(), Some(t));
                // (Counts may differ between the two statements: writes
                // of other workers commit in between, as under any READ
                // COMMITTED transaction.)
                assert!(ctx.visible_persons >= 1);
                assert!(rows.iter().all(|p| p.company_id == t), "{t}: {rows:?}");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_outside_carries_nothing_of_a(&db).await;
}

/// A write closure that runs no query leaves the connection as clean as
/// any other, whether it returns `Ok` or `Err`.
#[tokio::test]
async fn a_write_closure_without_queries_leaves_nothing_behind() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&one_connection());
    let got = db
        .tenant(&cid(A), async |_tc| Ok::<_, DbError>(7))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, 7);
    let failed: Result<(), DbError> = db.tenant(&cid(A), async |_tc| Err(DbError::NotFound)).await;
    assert!(matches!(failed, Err(DbError::NotFound)), "{failed:?}");
    assert_b_sees_only_b(&db).await;
    assert_outside_carries_nothing_of_a(&db).await;
}

#[tokio::test]
async fn read_only_transactions_refuse_writes() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&one_connection());
    let res = db
        .tenant_read(&cid(A), async |tc| {
            persons::create(tc, &new_person("nope")).await
        })
        .await;
    // SQLSTATE 25006, read_only_sql_transaction: refused by PostgreSQL.
    assert!(matches!(res, Err(DbError::ReadOnly)), "{res:?}");
    let still_one = db
        .tenant_read(&cid(A), async |tc| persons::list(tc, 100).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(still_one.len(), 1);
}

/// One request is one transaction: every query of a `tenant` or
/// `tenant_read` closure runs on one backend inside one transaction bound
/// to its company, and the next request is another.
#[tokio::test]
async fn one_request_is_one_transaction() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&one_connection());
    for read_only in [false, true] {
        let run = async |tc: &mut metiva_db::TenantConn<'_>| {
            let first = probe::transaction(tc).await?;
            let first_ctx = probe::inside(tc).await?;
            persons::list(tc, 10).await?;
            tokio::time::sleep(Duration::from_millis(5)).await;
            let last = probe::transaction(tc).await?;
            let last_ctx = probe::inside(tc).await?;
            Ok((first, last, first_ctx, last_ctx))
        };
        let (first, last, first_ctx, last_ctx) = if read_only {
            db.tenant_read(&cid(A), run).await
        } else {
            db.tenant(&cid(A), run).await
        }
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.backend_pid, last.backend_pid);
        for ctx in [&first_ctx, &last_ctx] {
            assert_eq!(ctx.setting.as_deref(), Some(A), "read_only={read_only}");
            assert_eq!(ctx.visible_persons, 1, "read_only={read_only}");
        }
        assert_eq!(
            first.transaction_started, last.transaction_started,
            "one transaction (read_only={read_only})"
        );
        assert_ne!(
            first.statement_started, last.statement_started,
            "two statements"
        );
        let next = db
            .tenant_read(&cid(A), async |tc| probe::transaction(tc).await)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(
            next.transaction_started, first.transaction_started,
            "the next request is a new transaction"
        );
    }
}
