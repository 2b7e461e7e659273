//! Finished cron rows are pruned (`jobs::prune_finished_cron`, run by the
//! hourly retention sweep): only `done` rows keyed `cron:…` and older than
//! the cut-off go; other keyed rows keep their at-most-once key, unfinished
//! cron rows stay, and another workspace's rows are never touched.

use metiva_db::jobs::{self, Backoff, JobKind, NewJob};
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, cid, exec, three_companies};

const KIND: JobKind = JobKind {
    name: "test.prune",
    max_attempts: 3,
    backoff: Backoff::DEFAULT,
};

#[tokio::test]
async fn only_old_finished_cron_rows_of_the_workspace_go() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    for (company, key) in [
        (A, "cron:sla-sweep:old"),
        (A, "cron:sla-sweep:recent"),
        (A, "cron:sla-sweep:queued"),
        (A, "invoice:1:issue"),
        (B, "cron:sla-sweep:old"),
    ] {
        db.for_job(&cid(company), async |tc| {
            jobs::enqueue(
                tc,
                &NewJob {
                    kind: &KIND,
                    payload: "{}",
                    key: Some(key),
                    run_at: None,
                },
            )
            .await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    // Finish them (as the owner, backdating "old" past the keep time).
    let mut owner = tdb.connect_as("metiva_owner").await;
    for c in [A, B] {
        exec(
            &mut owner,
            &format!(
                "BEGIN; SELECT set_config('app.company_id', '{c}', true);
                 UPDATE jobs SET state = 'done', updated_at = now() - interval '8 days'
                  WHERE job_key IN ('cron:sla-sweep:old', 'invoice:1:issue');
                 UPDATE jobs SET state = 'done' WHERE job_key = 'cron:sla-sweep:recent';
                 COMMIT;"
            ),
        )
        .await;
    }

    let before = chrono::Utc::now() - jobs::CRON_ROWS_KEPT;
    let n = db
        .for_job(&cid(A), async |tc| {
            jobs::prune_finished_cron(tc, before).await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 1, "only A's old finished cron row goes");

    let left = |c: &'static str| {
        let db = db.clone();
        async move {
            db.for_job(&cid(c), async |tc| {
                let mut keys = Vec::new();
                for k in [
                    "cron:sla-sweep:old",
                    "cron:sla-sweep:recent",
                    "cron:sla-sweep:queued",
                    "invoice:1:issue",
                ] {
                    if jobs::by_key(tc, k).await?.is_some() {
                        keys.push(k.to_string());
                    }
                }
                Ok::<_, metiva_db::DbError>(keys)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    assert_eq!(
        left(A).await,
        [
            "cron:sla-sweep:recent",
            "cron:sla-sweep:queued",
            "invoice:1:issue"
        ]
    );
    assert_eq!(left(B).await, ["cron:sla-sweep:old"], "B is untouched");
    // A second run finds nothing.
    let again = db
        .for_job(&cid(A), async |tc| {
            jobs::prune_finished_cron(tc, before).await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, 0);
}
