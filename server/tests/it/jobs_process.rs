//! The real binary as a worker (`metiva serve --only worker`, against the
//! test database as the app role): SIGTERM lets a running job finish
//! within the grace period, or releases it when the grace runs out;
//! SIGKILL mid-job leaves the job to be claimed again after its lease.
//! Uses the `test.sleep` kind (test-support builds only).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use metiva_db::jobs::{self, Enqueued, JobRow, NewJob};
use metiva_db::{CompanyId, Database};
use server::worker::test_support::SLEEP;

use crate::process::{exit_within, signal};
use crate::world::DE_VRIES;

fn worker(tdb: &metiva_testkit::TestDb, sleep_ms: u64, lease_s: u64, grace_s: u64) -> Child {
    let dir = metiva_testkit::scratch_dir("jobs-worker");
    Command::new(env!("CARGO_BIN_EXE_metiva"))
        .args(["serve", "--only", "worker"])
        .env("DATABASE_URL", tdb.app_url())
        .env(
            "METIVA_DB_STATEMENT_CACHE",
            crate::process::statement_cache(),
        )
        .env("METIVA_DATA_DIR", &dir)
        .env("METIVA_APP_ADDR", "127.0.0.1:0")
        .env("METIVA_LOGIN_ADDR", "127.0.0.1:0")
        .env_remove("METIVA_METRICS_ADDR")
        .env("METIVA_JOBS_TEST_SLEEP_MS", sleep_ms.to_string())
        .env("METIVA_JOBS_LOCK_TIMEOUT_SECS", lease_s.to_string())
        .env("METIVA_JOBS_GRACE_SECS", grace_s.to_string())
        .env("METIVA_JOBS_POLL_MS", "50")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn metiva: {e}"))
}

async fn enqueue(db: &Database, key: &str) {
    let e = db
        .tenant(&CompanyId::parse(DE_VRIES).unwrap(), async |tc| {
            jobs::enqueue(
                tc,
                &NewJob {
                    kind: &SLEEP,
                    payload: "{}",
                    key: Some(key),
                    run_at: None,
                },
            )
            .await
        })
        .await
        .unwrap();
    assert!(matches!(e, Enqueued::New(_)));
}

async fn job(db: &Database, key: &str) -> JobRow {
    db.tenant(&CompanyId::parse(DE_VRIES).unwrap(), async |tc| {
        jobs::by_key(tc, key).await
    })
    .await
    .unwrap()
    .unwrap()
}

async fn wait_for(db: &Database, key: &str, state: &str, within: Duration) -> JobRow {
    let t = Instant::now();
    loop {
        let j = job(db, key).await;
        if j.state == state {
            return j;
        }
        assert!(t.elapsed() < within, "{key}: still {j:?} after {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn setup() -> (metiva_testkit::TestDb, Database) {
    let tdb = metiva_testkit::TestDb::new().await;
    let owner = Database::connect(&tdb.owner_url(), &metiva_db::PoolSettings::default()).unwrap();
    let hash = tokio::task::spawn_blocking(|| {
        let pw = metiva_security::password::Password::new(crate::world::PASSWORD).unwrap();
        metiva_security::password::hash(&pw, 4).unwrap()
    })
    .await
    .unwrap();
    owner.seed_demo(&hash).await.unwrap();
    owner.close();
    let db = tdb.database();
    (tdb, db)
}

#[tokio::test]
async fn sigterm_lets_a_running_job_finish_within_the_grace_period() {
    let (tdb, db) = setup().await;
    enqueue(&db, "term:finish").await;
    let mut w = worker(&tdb, 1_500, 60, 20);
    wait_for(&db, "term:finish", "running", Duration::from_secs(30)).await;
    signal(&w, "-TERM");
    let status = exit_within(&mut w, Duration::from_secs(15)).await;
    assert!(status.success(), "{status}");
    let j = job(&db, "term:finish").await;
    assert_eq!((j.state.as_str(), j.attempts), ("done", 1), "{j:?}");
}

#[tokio::test]
async fn sigterm_releases_a_job_still_running_when_the_grace_runs_out() {
    let (tdb, db) = setup().await;
    enqueue(&db, "term:release").await;
    let mut w = worker(&tdb, 60_000, 600, 1);
    wait_for(&db, "term:release", "running", Duration::from_secs(30)).await;
    signal(&w, "-TERM");
    let status = exit_within(&mut w, Duration::from_secs(15)).await;
    assert!(status.success(), "{status}");
    // Due at once for the next worker, the cut-off attempt not counted,
    // although its lease (600 s) is far from over.
    let j = job(&db, "term:release").await;
    assert_eq!((j.state.as_str(), j.attempts), ("queued", 0), "{j:?}");
    assert!(j.run_at <= chrono::Utc::now());
}

#[tokio::test]
async fn sigkill_mid_job_is_picked_up_again_after_the_lock_timeout() {
    let (tdb, db) = setup().await;
    enqueue(&db, "kill:resume").await;
    let lease = 3;
    let mut first = worker(&tdb, 60_000, lease, 30);
    let running = wait_for(&db, "kill:resume", "running", Duration::from_secs(30)).await;
    signal(&first, "-KILL");
    exit_within(&mut first, Duration::from_secs(10)).await;
    // A second worker starts at once, but the job is held until its lease
    // expires.
    let mut second = worker(&tdb, 100, lease, 5);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let held = job(&db, "kill:resume").await;
    assert_eq!(
        (held.state.as_str(), held.attempts),
        ("running", 1),
        "{held:?}"
    );
    let done = wait_for(&db, "kill:resume", "done", Duration::from_secs(30)).await;
    assert_eq!(done.attempts, 2, "{done:?}");
    // Claimed at `running.updated_at`; finished only after the lease.
    let after = (done.updated_at - running.updated_at).as_seconds_f64();
    assert!(after >= lease as f64, "picked up after {after} s");
    signal(&second, "-TERM");
    assert!(
        exit_within(&mut second, Duration::from_secs(15))
            .await
            .success()
    );
}
