//! Export files after their download window (`privacy.export_cleanup`):
//! a finished export's file goes once its 24 hours (and the skew margin)
//! have passed, a failed export's leftover partial file goes, a fresh one
//! stays, another workspace's file is never touched, each removal is
//! recorded once, and a second run finds nothing to do.

use metiva_db::exports::ExportStore;
use metiva_db::exports::cleanup::{EXPORT_CLEANUP, ExportCleanupJob, clean_expired};
use metiva_db::files::FileStore;
use metiva_db::jobs::{self, NewJob, Outcome, Registry};
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, B, cid, exec, three_companies};

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn export_files_go_after_their_download_window_and_only_then() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let dir = std::env::temp_dir().join(format!("metiva-export-cleanup-{}", Uuid::new_v4()));
    // The local object store under the same directory: an object's file
    // is `<dir>/files/<key>`.
    let store = ExportStore::new(
        &dir,
        FileStore::local(&dir).unwrap_or_else(|e| panic!("{e}")),
    );
    let object = |c: &str, id: Uuid| dir.join("files").join(ExportStore::object_key(&cid(c), id));
    let (old, fresh, failed, edge, other) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let mut owner = tdb.connect_as("metiva_owner").await;
    let row = |c: &str, id: Uuid, status: &str, finished: &str| {
        format!(
            "BEGIN; SELECT set_config('app.company_id', '{c}', true);
             INSERT INTO exports (company_id, id, requested_by, status, finished_at)
               VALUES ('{c}', '{id}', gen_random_uuid(), '{status}', {finished});
             COMMIT;"
        )
    };
    // A: finished 25 hours ago (past the window and the margin), finished
    // just now, failed with a partial file left, and finished 24 h 1 min
    // ago (inside the margin: kept for now). B: finished long ago too.
    exec(
        &mut owner,
        &row(A, old, "done", "now() - interval '25 hours'"),
    )
    .await;
    exec(&mut owner, &row(A, fresh, "done", "now()")).await;
    exec(&mut owner, &row(A, failed, "failed", "NULL")).await;
    exec(
        &mut owner,
        &row(A, edge, "done", "now() - interval '24 hours 1 minute'"),
    )
    .await;
    exec(
        &mut owner,
        &row(B, other, "done", "now() - interval '30 days'"),
    )
    .await;
    let write = |path: std::path::PathBuf| {
        std::fs::create_dir_all(path.parent().unwrap_or(&dir)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, b"zip").unwrap_or_else(|e| panic!("{e}"));
        path
    };
    let old_file = write(object(A, old));
    let old_legacy = write(store.legacy_path(&cid(A), old));
    let fresh_file = write(object(A, fresh));
    let failed_partial = write(store.partial_path(&cid(A), failed));
    let edge_file = write(object(A, edge));
    let other_file = write(object(B, other));

    // Through the runner, as the hourly cron enqueues it, for A only.
    db.for_job(&cid(A), async |tc| {
        jobs::enqueue(
            tc,
            &NewJob {
                kind: &EXPORT_CLEANUP,
                payload: "{}",
                key: Some("cron:export-cleanup:test"),
                run_at: None,
            },
        )
        .await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut reg = Registry::default();
    reg.register(EXPORT_CLEANUP, ExportCleanupJob::new(store.clone()));
    let claimed = jobs::claim(&db, "cleanup-test", 10, 60)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(claimed.len(), 1);
    for c in &claimed {
        let out = jobs::execute(&db, &reg, "cleanup-test", c)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, Outcome::Done);
    }

    assert!(!old_file.exists(), "past its window: removed");
    assert!(
        !old_legacy.exists(),
        "a file an older version kept: removed"
    );
    assert!(!failed_partial.exists(), "a failed export's partial file");
    assert!(fresh_file.exists(), "still downloadable: kept");
    assert!(edge_file.exists(), "inside the skew margin: kept");
    assert!(other_file.exists(), "another workspace's file: untouched");

    // Recorded once each; the export rows stay as history.
    exec(
        &mut owner,
        &format!("BEGIN; SELECT set_config('app.company_id', '{A}', true);"),
    )
    .await;
    let count = async |owner: &mut diesel_async::AsyncPgConnection, sql: &str| {
        use diesel_async::RunQueryDsl;
        diesel::sql_query(sql)
            .get_result::<N>(owner)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .n
    };
    let removed = format!(
        "SELECT count(*) AS n FROM export_files_removed WHERE export_id IN ('{old}', '{failed}')"
    );
    assert_eq!(count(&mut owner, &removed).await, 2);
    assert_eq!(
        count(&mut owner, "SELECT count(*) AS n FROM export_files_removed").await,
        2
    );
    assert_eq!(
        count(&mut owner, "SELECT count(*) AS n FROM exports").await,
        4
    );
    exec(&mut owner, "COMMIT").await;

    // A second run has nothing left to do; a day later the rest goes.
    let again = db
        .for_job(&cid(A), async |tc| {
            Ok(clean_expired(tc, &store, chrono::Utc::now()).await)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.ok(), Some(0));
    let later = chrono::Utc::now() + chrono::TimeDelta::hours(25);
    let n = db
        .for_job(&cid(A), async |tc| {
            Ok(clean_expired(tc, &store, later).await)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n.ok(), Some(2));
    assert!(!fresh_file.exists() && !edge_file.exists());
    assert!(other_file.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
