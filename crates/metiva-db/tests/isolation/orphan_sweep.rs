//! Orphaned objects (`files.orphan_sweep`): an object no `stored_files`
//! row names goes once it is older than the grace period; an object with
//! a row stays, a fresh orphan stays (its transaction may still commit),
//! export ZIPs (no row, the export clean-up's) stay, and another
//! workspace's orphan is never touched.

use metiva_db::files::{FileStore, NewFile};
use metiva_db::files_sweep::sweep_orphans;
use metiva_security::cipher::KeyRing;
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, B, cid, exec, three_companies};

#[tokio::test]
async fn only_old_unreferenced_objects_of_the_workspace_go() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let dir = std::env::temp_dir().join(format!("metiva-orphan-sweep-{}", Uuid::new_v4()));
    let files = FileStore::local(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut keys = KeyRing::new();
    keys.rotate_in_key("k1", &[9u8; 32]);
    keys.load(&db, A).await.unwrap_or_else(|e| panic!("{e}"));

    // A stored file with its row, the real way, on an organisation.
    let org = Uuid::new_v4();
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO organisations (company_id, id, name) VALUES ('{A}', '{org}', 'Hendriks BV');
             COMMIT;"
        ),
    )
    .await;
    let file = |key_suffix: &'static str, organisation_id: Option<Uuid>| NewFile {
        purpose: "contract",
        invoice_id: None,
        deal_id: None,
        organisation_id,
        key_suffix,
        name: "contract.pdf",
        content_type: "application/pdf",
        bytes: b"%PDF-1.4 contract",
    };
    db.for_job(&cid(A), async |tc| {
        metiva_db::files::store(tc, &files, &keys, &file("attachments/kept", Some(org))).await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    // A contract without its record: the table refuses the row after the
    // object was written, as any rolled-back transaction would leave it.
    let refused = db
        .for_job(&cid(A), async |tc| {
            metiva_db::files::store(tc, &files, &keys, &file("attachments/refused", None)).await
        })
        .await;
    assert!(refused.is_err(), "the table asks for an owner record");
    let refused = dir.join("files").join(format!("{A}/attachments/refused"));
    assert!(refused.exists(), "the object was written before the row");
    // Objects with no row, as a rolled-back transaction leaves them (the
    // local store keeps `<dir>/files/<key>`).
    let put = |key: &str| {
        let path = dir.join("files").join(key);
        std::fs::create_dir_all(path.parent().unwrap_or(&dir)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, b"sealed bytes").unwrap_or_else(|e| panic!("{e}"));
        path
    };
    let orphan = put(&format!("{A}/attachments/{}", Uuid::new_v4()));
    let orphan_pdf = put(&format!("{A}/invoices/{}.pdf", Uuid::new_v4()));
    let export = put(&format!("{A}/exports/{}.zip.sealed", Uuid::new_v4()));
    let other = put(&format!("{B}/attachments/{}", Uuid::new_v4()));
    let with_row = dir.join("files").join(format!("{A}/attachments/kept"));

    // Nothing is old enough yet: a grace period from now keeps them all.
    let n = db
        .for_job(&cid(A), async |tc| {
            sweep_orphans(tc, &files, chrono::Utc::now() - chrono::TimeDelta::hours(1)).await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 0);
    assert!(orphan.exists() && orphan_pdf.exists());

    // Everything counts as old: the orphans go, the rest stays.
    let later = chrono::Utc::now() + chrono::TimeDelta::minutes(1);
    let n = db
        .for_job(&cid(A), async |tc| sweep_orphans(tc, &files, later).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!orphan.exists(), "an orphan past the grace period");
    assert!(!orphan_pdf.exists(), "an orphaned invoice object");
    assert!(export.exists(), "exports are not the sweep's");
    assert!(other.exists(), "another workspace's object");
    assert!(!refused.exists(), "the refused row's object");
    assert!(with_row.exists(), "an object its row names");
    assert_eq!(n, 3);
    // A second run has nothing left.
    let n = db
        .for_job(&cid(A), async |tc| sweep_orphans(tc, &files, later).await)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
