//! A sweep run as a job resumes its own claim (issue 16, "Crashes"): the
//! claim a killed attempt of the same job left open is taken over, its
//! counts carried on and closed once; a job whose own claim is already
//! closed claims afresh; another sweep's open claim still answers Busy.
//! The SIGKILL itself, through the real binary, is in the server's
//! `sweep_crash` test.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::RunQueryDsl;
use metiva_db::retention::{SweepOutcome, Sweeper};
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, cid, exec, three_companies};

const SITE: &str = "00000000-0000-4000-8000-00000000517e";

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct Claim {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Bool)]
    open: bool,
    #[diesel(sql_type = Bool)]
    abandoned: bool,
    #[diesel(sql_type = BigInt)]
    page_views: i64,
}

async fn claims(tdb: &TestDb) -> Vec<Claim> {
    let mut su = tdb.connect_as("postgres").await;
    diesel::sql_query(format!(
        "SELECT id, finished_at IS NULL AS open, abandoned, page_views FROM retention_sweeps
         WHERE company_id = '{A}' ORDER BY started_at, id"
    ))
    .load(&mut su)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// `n` page views 14 months old, and (as a killed attempt of `job`
/// would leave it) an open claim with `job`'s id that counted 7.
async fn seed(tdb: &TestDb, n: i64, open_claim: Uuid) {
    let mut su = tdb.connect_as("postgres").await;
    exec(
        &mut su,
        &format!(
            "INSERT INTO sites (company_id, id, domain, site_key)
                 VALUES ('{A}', '{SITE}', 'example.nl', 'pk_{A}_site') ON CONFLICT DO NOTHING;
             INSERT INTO page_views (company_id, id, site_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
             SELECT '{A}', gen_random_uuid(), '{SITE}', now() - interval '14 months', '/p', 'k1',
                    '\\x000000000000000000000000', '\\x0000000000000000000000000000000000000000'
             FROM generate_series(1, {n});
             INSERT INTO retention_sweeps (company_id, id, page_views, batches)
                 VALUES ('{A}', '{open_claim}', 7, 1);"
        ),
    )
    .await;
}

fn swept(o: SweepOutcome) -> i64 {
    match o {
        SweepOutcome::Swept(c) => c.page_views,
        SweepOutcome::Busy => -1,
    }
}

#[tokio::test]
async fn a_sweep_job_resumes_its_own_killed_claim_and_no_one_elses() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let job = Uuid::new_v4();
    seed(&tdb, 12, job).await;
    let db = tdb.database();

    // Another job finds the claim taken: Busy, nothing swept.
    let other = Uuid::new_v4();
    let o = db
        .sweep_as(&cid(A), None, Some(other))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(swept(o), -1);
    // So does a sweep outside the runner.
    let o = db
        .sweep_company(&cid(A))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(swept(o), -1);
    // The job's own next attempt resumes it: one record, counts carried on.
    let o = Sweeper::sweep_job(&db, &cid(A), job)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(swept(o), 12);
    assert_eq!(
        claims(&tdb).await,
        [Claim {
            id: job,
            open: false,
            abandoned: false,
            page_views: 19
        }]
    );
    // Run again (a dead job retried by hand): its claim is closed, so it
    // claims afresh under a new id.
    let o = db
        .sweep_as(&cid(A), None, Some(job))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(swept(o), 0);
    let all = claims(&tdb).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all.iter().all(|c| !c.open && !c.abandoned), "{all:?}");
    assert_eq!(all.iter().filter(|c| c.id == job).count(), 1, "{all:?}");
}
