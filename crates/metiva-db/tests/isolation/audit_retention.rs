//! Audit retention (issue 16): the sweep removes audit rows past the
//! workspace's audit period in batches, each with a checkpoint signed by
//! a key derived from the company's data key; `metiva audit verify` passes
//! over the cut chain, names a forged or edited checkpoint, survives a
//! master-key rotation; and the app role still cannot delete audit rows
//! except through the narrow cut.

use std::ops::ControlFlow;

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use metiva_db::audit_chain::{Break, ChainReport};
use metiva_db::repo::audit::{self, AuditEntry};
use metiva_db::retention::{BATCH, SweepOutcome};
use metiva_security::cipher::KeyRing;
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, cid, exec, three_companies, try_exec};

const OLD: i64 = 20_000;

fn ring(ids: &[(&str, u8)]) -> KeyRing {
    let mut k = KeyRing::new();
    for (id, b) in ids {
        k.rotate_in_key(id, &[*b; 32]);
    }
    k
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One number from `sql`, read as `role` bound to `company`.
async fn count(tdb: &TestDb, role: &str, company: &str, sql: &str) -> i64 {
    let mut conn = tdb.connect_as(role).await;
    exec(
        &mut conn,
        &format!("BEGIN; SELECT set_config('app.company_id', '{company}', true);"),
    )
    .await;
    let n = diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n;
    exec(&mut conn, "COMMIT").await;
    n
}

/// `n` audit rows for `company` written `months` ago (one second apart),
/// every tenth with a reveal reason and its short note, by the owner.
async fn old_rows(tdb: &TestDb, company: &str, n: i64, months: i32) {
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{company}', true);
             INSERT INTO audit_log (company_id, at, action, target_type, reason, note)
             SELECT '{company}', now() - interval '{months} months' + g * interval '1 second',
                    'test.old', 'probe',
                    CASE WHEN g % 10 = 0 THEN 'legal_request' END,
                    CASE WHEN g % 10 = 0 THEN 'old reveal note ' || g END
               FROM generate_series(1, {n}) g;
             COMMIT;"
        ),
    )
    .await;
}

async fn append_now(db: &metiva_db::Database, company: &str, n: usize) {
    for _ in 0..n {
        db.tenant(&cid(company), async |tc| {
            audit::append(
                tc,
                &AuditEntry {
                    action: "test.recent",
                    ..AuditEntry::default()
                },
            )
            .await
        })
        .await
        .unwrap_or_else(|e| panic!("append: {e}"));
    }
}

async fn verify(tdb: &TestDb, keys: &KeyRing) -> Vec<ChainReport> {
    let owner = metiva_db::Database::connect(&tdb.owner_url(), &metiva_testkit::pool_settings())
        .unwrap_or_else(|e| panic!("{e}"));
    owner
        .verify_audit_chains(None, keys)
        .await
        .unwrap_or_else(|e| panic!("verify: {e}"))
}

fn of<'r>(reports: &'r [ChainReport], company: &str) -> &'r ChainReport {
    reports
        .iter()
        .find(|r| r.company.as_str() == company)
        .unwrap_or_else(|| panic!("no report for {company}"))
}

/// A: 20,000 rows from 30 months ago, 5 from 18 months ago (inside the
/// default 24), then 3 today; B: 100 old rows and one today.
async fn world(tdb: &TestDb, db: &metiva_db::Database) {
    three_companies(tdb).await;
    old_rows(tdb, A, OLD, 30).await;
    old_rows(tdb, A, 5, 18).await;
    append_now(db, A, 3).await;
    old_rows(tdb, B, 100, 30).await;
    append_now(db, B, 1).await;
}

#[tokio::test]
async fn audit_sweep_cuts_old_rows_in_signed_batches_and_verify_passes() {
    let tdb = TestDb::new().await;
    let db = tdb.database();
    world(&tdb, &db).await;
    let keys = ring(&[("k1", 1)]);

    // Without the keys the sweep leaves the audit log alone.
    match db.sweep_company(&cid(A)).await {
        Ok(SweepOutcome::Swept(c)) => assert_eq!(c.audit_rows, 0),
        other => panic!("{other:?}"),
    }

    let started = std::time::Instant::now();
    let counts = match db.sweep_company_with_keys(&cid(A), Some(&keys)).await {
        Ok(SweepOutcome::Swept(c)) => c,
        other => panic!("{other:?}"),
    };
    let took = started.elapsed();
    println!(
        "FIGURE audit sweep: {OLD} rows in {} ms = {:.0} rows/s ({} batches)",
        took.as_millis(),
        OLD as f64 / took.as_secs_f64(),
        counts.batches
    );
    assert_eq!(counts.audit_rows, OLD);
    let batches = (OLD + BATCH - 1) / BATCH;
    assert_eq!(i64::from(counts.batches), batches, "{counts:?}");

    // One checkpoint per batch, none over BATCH, following one another.
    let cps = async |sql: &str| count(&tdb, "metiva_app", A, sql).await;
    assert_eq!(
        cps("SELECT count(*) AS n FROM audit_checkpoints").await,
        batches
    );
    assert_eq!(
        cps("SELECT max(removed) AS n FROM audit_checkpoints").await,
        BATCH
    );
    assert_eq!(
        cps("SELECT max(through_seq) AS n FROM audit_checkpoints").await,
        OLD
    );
    // Old rows and their notes are gone; the 18-month rows and today's
    // stay; B was not touched.
    assert_eq!(
        cps("SELECT count(*) AS n FROM audit_log WHERE action = 'test.old' AND at < now() - interval '24 months'").await,
        0
    );
    assert_eq!(
        cps("SELECT count(*) AS n FROM audit_log WHERE note LIKE 'old reveal note%' AND at < now() - interval '24 months'").await,
        0
    );
    assert_eq!(cps("SELECT count(*) AS n FROM audit_log").await, 8);
    assert_eq!(
        count(&tdb, "metiva_app", B, "SELECT count(*) AS n FROM audit_log").await,
        101
    );

    // The last sweep records the count.
    let ctx = crate::fixtures::member_ctx(&tdb, &db, A, 1, "owner").await;
    let (_, last) = db.retention(&ctx).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(last.map(|l| l.counts.audit_rows), Some(OLD));

    // The chain verifies from its last checkpoint; appends go on.
    append_now(&db, A, 2).await;
    let reports = verify(&tdb, &ring(&[("k1", 1)])).await;
    let a = of(&reports, A);
    assert_eq!(a.broken, None, "{a}");
    assert_eq!((a.cut, a.rows), (OLD, 10));
    assert!(a.to_string().contains("removed by retention"), "{a}");
    assert_eq!(of(&reports, B).broken, None);

    // A second sweep finds nothing more to cut.
    match db.sweep_company_with_keys(&cid(A), Some(&keys)).await {
        Ok(SweepOutcome::Swept(c)) => assert_eq!(c.audit_rows, 0),
        other => panic!("{other:?}"),
    }

    // The daily job's path: verify and record, anchored.
    let owner_db = metiva_db::Database::connect(&tdb.owner_url(), &metiva_testkit::pool_settings())
        .unwrap_or_else(|e| panic!("{e}"));
    let again = owner_db
        .verify_audit_chains(Some(&cid(A)), &keys)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.iter().all(|r| r.broken.is_none()), "{again:?}");
}

#[tokio::test]
async fn a_forged_or_edited_checkpoint_is_named_by_verify() {
    let tdb = TestDb::new().await;
    let db = tdb.database();
    world(&tdb, &db).await;
    let keys = ring(&[("k1", 1)]);
    db.sweep_company_with_keys(&cid(A), Some(&keys))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id_of = async |through: i64| {
        count(
            &tdb,
            "metiva_app",
            A,
            &format!("SELECT id AS n FROM audit_checkpoints WHERE through_seq = {through}"),
        )
        .await
    };
    let second = id_of(2 * BATCH).await;
    let mut su = tdb.connect_as("postgres").await;

    // The superuser shifts a checkpoint's time range: its signature fails.
    exec(
        &mut su,
        &format!(
            "UPDATE audit_checkpoints SET to_at = to_at + interval '1 day'
              WHERE company_id = '{A}' AND id = {second}"
        ),
    )
    .await;
    let reports = verify(&tdb, &keys).await;
    let broken = of(&reports, A).broken.clone().map(|b| (b.seq, b.why));
    assert_eq!(
        broken,
        Some((2 * BATCH, Break::Checkpoint { id: second })),
        "{}",
        of(&reports, A)
    );
    assert!(
        of(&reports, A).to_string().contains("forged or edited"),
        "{}",
        of(&reports, A)
    );
    assert_eq!(of(&reports, B).broken, None);
    exec(
        &mut su,
        &format!(
            "UPDATE audit_checkpoints SET to_at = to_at - interval '1 day'
              WHERE company_id = '{A}' AND id = {second}"
        ),
    )
    .await;
    assert_eq!(of(&verify(&tdb, &keys).await, A).broken, None);

    // The superuser deletes the next rows too and writes a checkpoint for
    // them with a made-up signature: named.
    exec(
        &mut su,
        &format!(
            "INSERT INTO audit_checkpoints (company_id, first_seq, through_seq, last_hash, removed,
                 from_at, to_at, key_id, signature)
             SELECT company_id, {OLD} + 1, {OLD} + 2, (SELECT hash FROM audit_log WHERE company_id = '{A}' AND seq = {OLD} + 2),
                    2, now() - interval '19 months', now() - interval '18 months', key_id, sha256('forged')
               FROM audit_checkpoints WHERE company_id = '{A}' AND id = {second};
             DELETE FROM audit_log WHERE company_id = '{A}' AND seq IN ({OLD} + 1, {OLD} + 2);"
        ),
    )
    .await;
    let forged = id_of(OLD + 2).await;
    let reports = verify(&tdb, &keys).await;
    assert_eq!(
        of(&reports, A).broken.clone().map(|b| b.why),
        Some(Break::Checkpoint { id: forged })
    );

    // Deleting that checkpoint leaves a gap after the last signed one.
    exec(
        &mut su,
        &format!("DELETE FROM audit_checkpoints WHERE company_id = '{A}' AND id = {forged}"),
    )
    .await;
    let reports = verify(&tdb, &keys).await;
    assert_eq!(
        of(&reports, A).broken.clone().map(|b| (b.seq, b.why)),
        Some((
            OLD + 3,
            Break::Gap {
                expected_seq: OLD + 1
            }
        ))
    );

    // Another master key cannot vouch for anything: no DEK unwraps, so
    // verify fails closed (an error, never a pass).
    let owner = metiva_db::Database::connect(&tdb.owner_url(), &metiva_testkit::pool_settings())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        owner
            .verify_audit_chains(Some(&cid(A)), &ring(&[("k9", 9)]))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_app_role_cannot_delete_audit_rows_except_through_the_checked_cut() {
    let tdb = TestDb::new().await;
    let db = tdb.database();
    world(&tdb, &db).await;
    let mut app = tdb.connect_as("metiva_app").await;
    let bound = |sql: &str| {
        format!("BEGIN; SELECT set_config('app.company_id', '{A}', true); {sql}; COMMIT;")
    };
    for sql in [
        "DELETE FROM audit_log WHERE seq = 1",
        "UPDATE audit_log SET note = 'x' WHERE seq = 1",
        "INSERT INTO audit_checkpoints (company_id, first_seq, through_seq, last_hash, removed, from_at, to_at, key_id, signature)
             VALUES ('cmp_aaaaaa', 1, 1, sha256('x'), 1, now(), now(), 'd-0', sha256('y'))",
        "DELETE FROM audit_checkpoints",
        // The cut checks the checkpoint against the rows: a wrong hash,
        // a wrong count, recent rows, or the head are refused.
        "SELECT metiva_audit_cut(1, sha256('x'), 1, now(), now(), 'd-0', sha256('y'))",
        "SELECT metiva_audit_cut(3, (SELECT hash FROM audit_log WHERE seq = 3), 2,
             (SELECT min(at) FROM audit_log WHERE seq <= 3), (SELECT max(at) FROM audit_log WHERE seq <= 3), 'd-0', sha256('y'))",
        "SELECT metiva_audit_cut(6000, (SELECT hash FROM audit_log WHERE seq = 6000), 6000,
             (SELECT min(at) FROM audit_log WHERE seq <= 6000), (SELECT max(at) FROM audit_log WHERE seq <= 6000),
             'd-0', sha256('y'))",
    ] {
        let r = try_exec(&mut app, &bound(sql)).await;
        assert!(r.is_err(), "the app role may: {sql}");
    }
    // Unbound, the cut refuses outright.
    assert!(
        try_exec(
            &mut app,
            "SELECT metiva_audit_cut(1, sha256('x'), 1, now(), now(), 'd-0', sha256('y'))"
        )
        .await
        .is_err()
    );
    assert_eq!(
        count(&tdb, "metiva_app", A, "SELECT count(*) AS n FROM audit_log").await,
        OLD + 8
    );
    // A true cut of rows inside the workspace's audit period (120 months
    // here) is refused too ...
    let cut = |through: i64| {
        format!(
            "SELECT metiva_audit_cut({through}, (SELECT hash FROM audit_log WHERE seq = {through}), {through},
                 (SELECT min(at) FROM audit_log WHERE seq <= {through}),
                 (SELECT max(at) FROM audit_log WHERE seq <= {through}), 'd-0', sha256('y'))"
        )
    };
    exec(
        &mut app,
        &bound(
            "INSERT INTO retention_settings (company_id, audit_months) VALUES ('cmp_aaaaaa', 120)",
        ),
    )
    .await;
    assert!(try_exec(&mut app, &bound(&cut(10))).await.is_err());
    // ... and allowed once the period is 24 months again; but a cut made
    // without the data key's signature is named by verify.
    exec(
        &mut app,
        &bound("UPDATE retention_settings SET audit_months = 24"),
    )
    .await;
    exec(&mut app, &bound(&cut(10))).await;
    assert_eq!(
        count(&tdb, "metiva_app", A, "SELECT count(*) AS n FROM audit_log").await,
        OLD + 8 - 10
    );
    let reports = verify(&tdb, &ring(&[("k1", 1)])).await;
    assert!(
        matches!(
            of(&reports, A).broken.clone().map(|b| b.why),
            Some(Break::Checkpoint { .. })
        ),
        "{}",
        of(&reports, A)
    );
    // Under B's binding it cuts B's chain, never A's: B has 101 rows.
    assert!(
        try_exec(
            &mut app,
            &format!(
                "BEGIN; SELECT set_config('app.company_id', '{B}', true);
                 SELECT metiva_audit_cut(5000, sha256('x'), 5000, now(), now(), 'd-0', sha256('y')); COMMIT;"
            )
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn checkpoints_stay_verifiable_after_master_key_rotation() {
    let tdb = TestDb::new().await;
    let db = tdb.database();
    world(&tdb, &db).await;
    db.sweep_company_with_keys(&cid(A), Some(&ring(&[("k1", 1)])))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // `metiva keys rotate`: k2 becomes the master key, k1 retired.
    let owner = metiva_db::Database::connect(&tdb.owner_url(), &metiva_testkit::pool_settings())
        .unwrap_or_else(|e| panic!("{e}"));
    let rotated = owner
        .rotate_data_keys(
            &ring(&[("k1", 1), ("k2", 2)]),
            |_| ControlFlow::Continue(()),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(rotated.rewrapped >= 1, "{rotated:?}");
    // Verified with the new master key alone (k1 gone): the DEK is the
    // same, so the old checkpoints still hold.
    let reports = verify(&tdb, &ring(&[("k2", 2)])).await;
    let a = of(&reports, A);
    assert_eq!(a.broken, None, "{a}");
    assert_eq!(a.cut, OLD);
    // And the next sweep signs with the same DEK under the new master key.
    match db
        .sweep_company_with_keys(&cid(B), Some(&ring(&[("k2", 2)])))
        .await
    {
        Ok(SweepOutcome::Swept(c)) => assert_eq!(c.audit_rows, 100),
        other => panic!("{other:?}"),
    }
    let reports = verify(&tdb, &ring(&[("k1", 1), ("k2", 2)])).await;
    assert_eq!(of(&reports, B).broken, None, "{}", of(&reports, B));
    assert_eq!(of(&reports, B).cut, 100);
}
