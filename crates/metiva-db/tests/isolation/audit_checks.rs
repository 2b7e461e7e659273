//! The daily audit-chain verify (`audit.chain_verify`): run through the
//! job runner, it records each workspace's result; the latest intact check
//! anchors the next, so rows a superuser cuts off the end, or a chain a
//! superuser rewrites consistently (both invisible to the hash chain
//! alone), are named; a check's row cannot be changed by the app role.

use metiva_db::audit_chain::Break;
use metiva_db::audit_checks::{CHAIN_VERIFY, ChainVerifyJob, LastCheck, last_check_of};
use metiva_db::jobs::{self, NewJob, Outcome, Registry};
use metiva_db::repo::audit::{self, AuditEntry};
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, C, cid, exec, three_companies, try_exec};

async fn append(db: &metiva_db::Database, company: &str, n: usize) {
    for i in 0..n {
        db.tenant(&cid(company), async |tc| {
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: None,
                    action: "test.check",
                    target_type: Some("probe"),
                    target_id: None,
                    request_id: None,
                    reason: None,
                },
            )
            .await
        })
        .await
        .unwrap_or_else(|e| panic!("append {company} #{i}: {e}"));
    }
}

/// Enqueues one verify per company (as the cron does) and runs them all
/// through the runner.
async fn run_daily_check(db: &metiva_db::Database, round: usize) {
    let key = format!("cron:audit-chain-verify:test-{round}");
    for c in [A, B, C] {
        db.for_job(&cid(c), async |tc| {
            jobs::enqueue(
                tc,
                &NewJob {
                    kind: &CHAIN_VERIFY,
                    payload: "{}",
                    key: Some(&key),
                    run_at: None,
                },
            )
            .await
        })
        .await
        .unwrap_or_else(|e| panic!("enqueue {c}: {e}"));
    }
    let mut reg = Registry::default();
    reg.register(
        CHAIN_VERIFY,
        ChainVerifyJob::new(
            db.clone(),
            std::sync::Arc::new(metiva_security::cipher::KeyRing::new()),
        ),
    );
    let claimed = jobs::claim(db, "audit-checks-test", 10, 60)
        .await
        .unwrap_or_else(|e| panic!("claim: {e}"));
    assert_eq!(claimed.len(), 3, "one job per company");
    for c in &claimed {
        let out = jobs::execute(db, &reg, "audit-checks-test", c)
            .await
            .unwrap_or_else(|e| panic!("execute: {e}"));
        assert_eq!(out, Outcome::Done, "a break is a result, not a failure");
    }
}

async fn last(db: &metiva_db::Database, company: &str) -> LastCheck {
    db.tenant(&cid(company), async |tc| last_check_of(tc).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("{company} has no check"))
}

#[tokio::test]
async fn audit_daily_check_records_and_its_anchor_catches_truncation_and_rewrites() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    for c in [A, B, C] {
        append(&db, c, 5).await;
    }
    run_daily_check(&db, 1).await;
    for c in [A, B, C] {
        let l = last(&db, c).await;
        assert!(l.ok, "{c}: {l:?}");
        assert_eq!(l.rows_checked, 5, "{c}");
        assert_eq!((l.broken_seq, l.broken_kind), (None, None));
    }

    let mut su = tdb.connect_as("postgres").await;
    // A: the superuser cuts the last two rows off the end. The chain
    // itself still holds from its first row; only the anchor sees it.
    exec(
        &mut su,
        &format!("DELETE FROM audit_log WHERE company_id = '{A}' AND seq > 3"),
    )
    .await;
    // B: the superuser changes row 2 and rehashes every row after it with
    // the database's own function: a consistent, rewritten chain.
    exec(
        &mut su,
        &format!(
            "UPDATE audit_log SET action = 'test.rewritten' WHERE company_id = '{B}' AND seq = 2;
             DO $$ BEGIN
               FOR s IN 2..5 LOOP
                 UPDATE audit_log a SET
                   prev_hash = (SELECT p.hash FROM audit_log p WHERE p.company_id = a.company_id AND p.seq = s - 1),
                   hash = metiva_audit_hash_v2(
                     (SELECT p.hash FROM audit_log p WHERE p.company_id = a.company_id AND p.seq = s - 1),
                     company_id, seq, id, at, actor_user_id, action, target_type, target_id,
                     request_id, reason, note)
                 WHERE a.company_id = '{B}' AND a.seq = s;
               END LOOP;
             END $$;"
        ),
    )
    .await;
    // C: two honest appends: a chain that grew past its anchor is intact.
    append(&db, C, 2).await;

    // The operator's command holds the chains against the anchor too.
    let owner = metiva_db::Database::connect(&tdb.owner_url(), &metiva_testkit::pool_settings())
        .unwrap_or_else(|e| panic!("{e}"));
    let reports = owner
        .verify_audit_chains(None, &metiva_security::cipher::KeyRing::new())
        .await
        .unwrap_or_else(|e| panic!("verify: {e}"));
    let broken = |c: &str| {
        reports
            .iter()
            .find(|r| r.company.as_str() == c)
            .and_then(|r| r.broken.clone())
            .map(|b| (b.seq, b.why))
    };
    assert_eq!(broken(A), Some((5, Break::Truncated { rows_now: 3 })));
    assert_eq!(broken(B), Some((5, Break::Rewritten)));
    assert_eq!(broken(C), None);

    run_daily_check(&db, 2).await;
    let a = last(&db, A).await;
    assert!(!a.ok);
    assert_eq!(
        (a.broken_seq, a.broken_kind.as_deref()),
        (Some(5), Some("truncated"))
    );
    let b = last(&db, B).await;
    assert_eq!(
        (b.broken_seq, b.broken_kind.as_deref()),
        (Some(5), Some("rewritten"))
    );
    let c = last(&db, C).await;
    assert!(c.ok, "{c:?}");
    assert_eq!(c.rows_checked, 7);

    // A check is evidence: the app role can neither change nor delete it.
    let mut app = tdb.connect_as("metiva_app").await;
    for sql in [
        "UPDATE audit_chain_checks SET ok = true",
        "DELETE FROM audit_chain_checks",
    ] {
        let r = try_exec(
            &mut app,
            &format!("BEGIN; SELECT set_config('app.company_id', '{A}', true); {sql}; COMMIT;"),
        )
        .await;
        assert!(r.is_err(), "{sql} must be refused");
        let _ = try_exec(&mut app, "ROLLBACK").await;
    }
    assert!(!last(&db, A).await.ok);
}
