//! The audit log's hash chain: every writer chains, the verify (Rust)
//! agrees with the trigger (SQL), tampering by the owner or a superuser is
//! named at its first broken row, concurrent writers never fork a chain,
//! and each company's chain stands alone.

use std::collections::BTreeSet;

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use metiva_db::audit_chain::{Break, ChainReport, GENESIS, HASHED_COLUMNS};
use metiva_db::repo::audit::{self, AuditEntry};
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, C, cid, exec, three_companies};

/// `n` entries for `company`, through the app's own append, one
/// transaction each; NULLs and values alternate.
async fn append(db: &metiva_db::Database, company: &str, n: usize) {
    for i in 0..n {
        let target = format!("t{i}");
        db.tenant(&cid(company), async |tc| {
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: (i % 2 == 0).then(uuid::Uuid::new_v4),
                    action: "test.chain",
                    target_type: Some("probe"),
                    target_id: (i % 3 != 0).then_some(target.as_str()),
                    request_id: Some(""),
                    reason: (i % 2 == 1).then_some("a_reason"),
                },
            )
            .await
        })
        .await
        .unwrap_or_else(|e| panic!("append {company} #{i}: {e}"));
    }
}

/// Every chain's report, read as the owner role (as `metiva audit verify`).
async fn verify(tdb: &TestDb) -> Vec<ChainReport> {
    let owner = metiva_db::Database::connect(&tdb.owner_url(), &metiva_testkit::pool_settings())
        .unwrap_or_else(|e| panic!("{e}"));
    owner
        .verify_audit_chains(None, &metiva_security::cipher::KeyRing::new())
        .await
        .unwrap_or_else(|e| panic!("verify: {e}"))
}

fn report<'r>(reports: &'r [ChainReport], company: &str) -> &'r ChainReport {
    reports
        .iter()
        .find(|r| r.company.as_str() == company)
        .unwrap_or_else(|| panic!("no report for {company}: {reports:?}"))
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Link {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    prev: String,
}

/// A company's chain as stored, in seq order, read as the owner.
async fn links(tdb: &TestDb, company: &str) -> Vec<Link> {
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!("BEGIN; SELECT set_config('app.company_id', '{company}', true);"),
    )
    .await;
    let rows = diesel::sql_query(
        "SELECT id, seq, encode(prev_hash, 'hex') AS prev FROM audit_log ORDER BY seq",
    )
    .load::<Link>(&mut owner)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    exec(&mut owner, "COMMIT").await;
    rows
}

#[tokio::test]
async fn audit_appends_chain_and_verify_passes() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    append(&db, A, 5).await;
    // The login service appends too (it may read only the chain columns),
    // and so does a hand-written INSERT: the trigger chains every writer,
    // and a caller's own chain values are overwritten.
    let mut login = tdb.connect_as("metiva_login").await;
    exec(
        &mut login,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO audit_log (company_id, action, seq, prev_hash, hash)
               VALUES ('{A}', 'auth.sign_in', 1, '\\x00', '\\x00');
             COMMIT;"
        ),
    )
    .await;

    let reports = verify(&tdb).await;
    let companies: Vec<&str> = reports.iter().map(|r| r.company.as_str()).collect();
    assert_eq!(companies, [A, B, C]);
    for r in &reports {
        assert_eq!(r.broken, None, "{r}");
    }
    assert_eq!(report(&reports, A).rows, 6);
    assert_eq!(report(&reports, B).rows, 0);

    let chain = links(&tdb, A).await;
    assert_eq!(
        chain.iter().map(|l| l.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(chain[0].prev, hex(&GENESIS));
    assert!(
        report(&reports, A)
            .to_string()
            .starts_with("cmp_aaaaaa: ok, 6 row(s), head ")
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn audit_tampering_by_owner_or_superuser_is_named_at_the_first_broken_row() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    for c in [A, B, C] {
        append(&db, c, 5).await;
    }
    let id_at = async |c: &str, seq: i64| {
        links(&tdb, c)
            .await
            .iter()
            .find(|l| l.seq == seq)
            .map(|l| l.id)
            .unwrap_or_else(|| panic!("{c} has no seq {seq}"))
    };
    let (a3, b4, c4) = (id_at(A, 3).await, id_at(B, 4).await, id_at(C, 4).await);

    // A: the owner changes one field of the third row.
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             UPDATE audit_log SET target_id = 'someone-else' WHERE seq = 3;
             COMMIT;"
        ),
    )
    .await;
    // B: the superuser deletes the third row.
    let mut su = tdb.connect_as("postgres").await;
    exec(
        &mut su,
        &format!("DELETE FROM audit_log WHERE company_id = '{B}' AND seq = 3"),
    )
    .await;
    // C: the superuser changes the third row and rehashes it with the
    // database's own function; the fourth row no longer links to it.
    exec(
        &mut su,
        &format!(
            "UPDATE audit_log SET action = 'test.other' WHERE company_id = '{C}' AND seq = 3;
             UPDATE audit_log SET hash = metiva_audit_hash_v2(prev_hash, company_id, seq, id, at,
                 actor_user_id, action, target_type, target_id, request_id, reason, note)
               WHERE company_id = '{C}' AND seq = 3;"
        ),
    )
    .await;

    let reports = verify(&tdb).await;
    let broken = |c: &str| {
        report(&reports, c)
            .broken
            .clone()
            .map(|b| (b.id, b.seq, b.why))
    };
    assert_eq!(broken(A), Some((a3, 3, Break::Altered)));
    assert_eq!(broken(B), Some((b4, 4, Break::Gap { expected_seq: 3 })));
    assert_eq!(broken(C), Some((c4, 4, Break::Unlinked)));
    assert_eq!(
        report(&reports, A).to_string(),
        format!(
            "cmp_aaaaaa: BROKEN at audit row id {a3} (seq 3): its fields do not match its hash: the row was changed"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_eight_concurrent_writers_leave_one_unbroken_chain() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { append(&db, A, 25).await })
        })
        .collect();
    for w in writers {
        w.await.unwrap_or_else(|e| panic!("writer: {e}"));
    }

    let reports = verify(&tdb).await;
    let a = report(&reports, A);
    assert_eq!((a.rows, &a.broken), (200, &None), "{a}");
    // No fork: 200 distinct positions and 200 distinct predecessors.
    let chain = links(&tdb, A).await;
    assert_eq!(chain.len(), 200);
    assert_eq!(
        chain.iter().map(|l| l.seq).collect::<BTreeSet<_>>().len(),
        200
    );
    assert_eq!(
        chain.iter().map(|l| &l.prev).collect::<BTreeSet<_>>().len(),
        200
    );
}

#[tokio::test]
async fn audit_chains_are_per_company() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    for _ in 0..3 {
        append(&db, A, 2).await;
        append(&db, B, 1).await;
    }
    // Each chain starts at its own genesis and counts only its own rows.
    for (c, n) in [(A, 6), (B, 3)] {
        let chain = links(&tdb, c).await;
        assert_eq!(chain.len(), n);
        assert_eq!(chain[0].prev, hex(&GENESIS), "{c}");
        assert_eq!(chain.last().map(|l| l.seq), Some(n as i64), "{c}");
    }
    // Breaking A leaves B verified.
    let mut su = tdb.connect_as("postgres").await;
    exec(
        &mut su,
        &format!("DELETE FROM audit_log WHERE company_id = '{A}' AND seq = 1"),
    )
    .await;
    let reports = verify(&tdb).await;
    assert!(report(&reports, A).broken.is_some());
    assert_eq!(report(&reports, B).broken, None);
    assert_eq!(report(&reports, B).rows, 3);

    // One company alone.
    let owner = metiva_db::Database::connect(&tdb.owner_url(), &metiva_testkit::pool_settings())
        .unwrap_or_else(|e| panic!("{e}"));
    let only = owner
        .verify_audit_chains(Some(&cid(B)), &metiva_security::cipher::KeyRing::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].company.as_str(), B);
}

#[tokio::test]
async fn audit_hash_covers_every_column() {
    #[derive(QueryableByName)]
    struct Col {
        #[diesel(sql_type = Text)]
        column_name: String,
    }
    let tdb = TestDb::new().await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    let cols = diesel::sql_query(
        "SELECT column_name::text AS column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = 'audit_log'",
    )
    .load::<Col>(&mut owner)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let stored: BTreeSet<String> = cols
        .into_iter()
        .map(|c| c.column_name)
        .filter(|c| c != "prev_hash" && c != "hash")
        .collect();
    let hashed: BTreeSet<String> = HASHED_COLUMNS.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        stored, hashed,
        "every audit_log column must be hashed: extend the format (metiva_db::audit_chain) under a new version"
    );
}

#[tokio::test]
async fn audit_companies_are_listed_for_the_owner_only() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    for role in ["metiva_app", "metiva_login"] {
        let mut conn = tdb.connect_as(role).await;
        let r = diesel::sql_query("SELECT company_id FROM metiva_audit_companies()")
            .execute(&mut conn)
            .await;
        assert!(r.is_err(), "{role} may list every company");
    }
    // The app role cannot verify (it cannot list the companies).
    let app = tdb.database();
    assert!(
        app.verify_audit_chains(None, &metiva_security::cipher::KeyRing::new())
            .await
            .is_err()
    );
}

/// Rows hashed before the reason note (format 1) and after it (format 2)
/// verify as one chain; the note is bound by the v2 hash, and a row's
/// format cannot be flipped unseen; a free-text reason is refused for new
/// rows (codes only), while old rows keep theirs.
#[tokio::test]
async fn audit_chain_verifies_v1_rows_before_v2_rows_and_binds_the_note() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    append(&db, A, 4).await;
    db.tenant(&cid(A), async |tc| {
        audit::append_with_note(
            tc,
            &AuditEntry {
                action: "visitor.ip_revealed",
                reason: Some("other"),
                ..Default::default()
            },
            Some("ticket 42"),
        )
        .await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // Rows 1-2 as the pre-migration trigger wrote them (format 1, the v1
    // function, a free-text reason), rows 3-5 rechained after them:
    // a chain that was extended across the migration.
    let mut su = tdb.connect_as("postgres").await;
    exec(
        &mut su,
        &format!(
            "ALTER TABLE audit_log DISABLE TRIGGER USER;
             ALTER TABLE audit_log DROP CONSTRAINT audit_log_reason_code;
             UPDATE audit_log SET reason = 'free text from before' WHERE company_id = '{A}' AND seq = 2;
             DO $$ BEGIN
               FOR s IN 1..5 LOOP
                 UPDATE audit_log a SET
                   format = CASE WHEN s <= 2 THEN 1 ELSE 2 END,
                   prev_hash = coalesce((SELECT p.hash FROM audit_log p WHERE p.company_id = a.company_id AND p.seq = s - 1),
                                        '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
                 WHERE a.company_id = '{A}' AND a.seq = s;
                 UPDATE audit_log a SET hash = CASE WHEN a.format = 1
                     THEN metiva_audit_hash(a.prev_hash, company_id, seq, id, at, actor_user_id, action,
                                            target_type, target_id, request_id, reason)
                     ELSE metiva_audit_hash_v2(a.prev_hash, company_id, seq, id, at, actor_user_id, action,
                                               target_type, target_id, request_id, reason, note) END
                 WHERE a.company_id = '{A}' AND a.seq = s;
               END LOOP;
             END $$;
             ALTER TABLE audit_log ADD CONSTRAINT audit_log_reason_code
                 CHECK (reason IS NULL OR reason ~ '^[a-z][a-z0-9_.]{{0,62}}$') NOT VALID;
             ALTER TABLE audit_log ENABLE TRIGGER USER;"
        ),
    )
    .await;
    let reports = verify(&tdb).await;
    assert_eq!(report(&reports, A).broken, None, "{}", report(&reports, A));
    assert_eq!(report(&reports, A).rows, 5);

    // An honest append after the mixed chain: still intact.
    append(&db, A, 1).await;
    assert_eq!(report(&verify(&tdb).await, A).broken, None);

    // A new row's reason must be a code.
    let refused = db
        .tenant(&cid(A), async |tc| {
            audit::append(
                tc,
                &AuditEntry {
                    action: "visitor.ip_revealed",
                    reason: Some("Jan asked, see mail"),
                    ..Default::default()
                },
            )
            .await
        })
        .await;
    assert!(refused.is_err(), "a free-text reason was stored");

    // Changing the note, or flipping a row's format, breaks the chain there.
    exec(
        &mut su,
        &format!("UPDATE audit_log SET note = 'ticket 43' WHERE company_id = '{A}' AND seq = 5"),
    )
    .await;
    let b = report(&verify(&tdb).await, A).broken.clone();
    assert_eq!(b.map(|b| (b.seq, b.why)), Some((5, Break::Altered)));
    exec(
        &mut su,
        &format!(
            "UPDATE audit_log SET note = 'ticket 42' WHERE company_id = '{A}' AND seq = 5;
             UPDATE audit_log SET format = 2 WHERE company_id = '{A}' AND seq = 1;"
        ),
    )
    .await;
    let b = report(&verify(&tdb).await, A).broken.clone();
    assert_eq!(b.map(|b| (b.seq, b.why)), Some((1, Break::Altered)));
}
