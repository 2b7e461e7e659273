//! The job runner against a real PostgreSQL (as the app role): tenant
//! scope, same-transaction enqueue, backoff and the dead state, retry and
//! discard (audited), and unique keys with two workers at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use metiva_db::jobs::{
    self, Backoff, BoxFuture, Enqueued, Handler, JobError, JobInfo, JobKind, NewJob, Outcome,
    Registry,
};
use metiva_db::{CompanyId, Database, DbError, PoolSettings, TenantConn};
use metiva_testkit::TestDb;
use server::worker::{CronState, WorkerConfig};

use crate::world::{BROUWER, DE_VRIES, PASSWORD};

fn cmp(s: &str) -> CompanyId {
    CompanyId::parse(s).unwrap()
}

/// A fresh database with the demo workspaces, and the app role's handle.
async fn setup() -> (TestDb, Database) {
    let tdb = TestDb::new().await;
    let owner = Database::connect(&tdb.owner_url(), &PoolSettings::default()).unwrap();
    let hash = tokio::task::spawn_blocking(|| {
        let pw = metiva_security::password::Password::new(PASSWORD).unwrap();
        metiva_security::password::hash(&pw, 4).unwrap()
    })
    .await
    .unwrap();
    owner.seed_demo(&hash).await.unwrap();
    owner.close();
    let db = tdb.database();
    (tdb, db)
}

const FAST: Backoff = Backoff {
    base: Duration::from_secs(10),
    cap: Duration::from_secs(60),
};

async fn enqueue(
    db: &Database,
    company: &str,
    kind: &JobKind,
    key: Option<&str>,
) -> Result<Enqueued, DbError> {
    db.tenant(&cmp(company), async |tc| {
        jobs::enqueue(
            tc,
            &NewJob {
                kind,
                payload: "{}",
                key,
                run_at: None,
            },
        )
        .await
    })
    .await
}

fn config(id: &str) -> WorkerConfig {
    WorkerConfig {
        id: id.into(),
        concurrency: 4,
        poll: Duration::from_millis(20),
        lease: Duration::from_secs(60),
        grace: Duration::from_secs(5),
        cron_first: Duration::from_secs(3600),
    }
}

/// Counts what a handler can see without any filter of its own: RLS alone
/// decides.
struct Census {
    seen: Arc<std::sync::Mutex<Vec<(String, i64, i64)>>>,
}

impl Handler for Census {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            use diesel::sql_types::BigInt;
            use diesel_async::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = BigInt)]
                jobs: i64,
                #[diesel(sql_type = BigInt)]
                companies: i64,
            }
            #[expect(
                clippy::disallowed_methods,
                reason = "the test reads with no company filter, so only RLS scopes it"
            )]
            let conn = tc.conn();
            let n: N = diesel::sql_query(
                "SELECT (SELECT count(*) FROM jobs) AS jobs, (SELECT count(*) FROM companies) AS companies",
            )
            .get_result(conn)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
            self.seen
                .lock()
                .unwrap()
                .push((job.company.as_str().to_string(), n.jobs, n.companies));
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_handler_sees_only_its_own_company() {
    let (_tdb, db) = setup().await;
    const CENSUS: JobKind = JobKind {
        name: "test.census",
        max_attempts: 1,
        backoff: FAST,
    };
    // Keyed, so finished jobs stay as rows: every census sees all of its
    // own company's three or one.
    for key in ["k1", "k2", "k3"] {
        enqueue(&db, BROUWER, &CENSUS, Some(key)).await.unwrap();
    }
    enqueue(&db, DE_VRIES, &CENSUS, Some("k1")).await.unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut reg = Registry::default();
    reg.register(CENSUS, Census { seen: seen.clone() });
    let claimed = jobs::claim(&db, "w1", 10, 60).await.unwrap();
    assert_eq!(claimed.len(), 4);
    for job in &claimed {
        assert_eq!(
            jobs::execute(&db, &reg, "w1", job).await.unwrap(),
            Outcome::Done
        );
    }
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    let b = (BROUWER.to_string(), 3, 1);
    let d = (DE_VRIES.to_string(), 1, 1);
    assert_eq!(seen, [b.clone(), b.clone(), b, d]);
}

#[tokio::test]
async fn a_rolled_back_change_leaves_no_job() {
    let (_tdb, db) = setup().await;
    const K: JobKind = JobKind {
        name: "test.rollback",
        max_attempts: 1,
        backoff: FAST,
    };
    let res: Result<(), DbError> = db
        .tenant(&cmp(DE_VRIES), async |tc| {
            let e = jobs::enqueue(
                tc,
                &NewJob {
                    kind: &K,
                    payload: "{}",
                    key: Some("rolled-back"),
                    run_at: None,
                },
            )
            .await?;
            assert!(matches!(e, Enqueued::New(_)));
            Err(DbError::Internal("the change failed".into()))
        })
        .await;
    assert!(res.is_err());
    let open = db
        .tenant(&cmp(DE_VRIES), async |tc| jobs::list_open(tc, 100).await)
        .await
        .unwrap();
    assert!(open.is_empty(), "{open:?}");
    assert!(jobs::claim(&db, "w1", 10, 60).await.unwrap().is_empty());
    // The same key is free, since nothing was committed; committed, it runs.
    assert!(matches!(
        enqueue(&db, DE_VRIES, &K, Some("rolled-back")).await,
        Ok(Enqueued::New(_))
    ));
    assert_eq!(jobs::claim(&db, "w1", 10, 60).await.unwrap().len(), 1);
}

struct Fails;

impl Handler for Fails {
    fn run<'a>(
        &'a self,
        _tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            Err(JobError::retry(format!(
                "upstream 503 on attempt {}",
                job.attempt
            )))
        })
    }
}

#[tokio::test]
async fn failures_back_off_with_jitter_then_the_job_is_dead_and_retry_and_discard_are_audited() {
    let (_tdb, db) = setup().await;
    const K: JobKind = JobKind {
        name: "test.fails",
        max_attempts: 3,
        backoff: FAST,
    };
    let mut reg = Registry::default();
    reg.register(K, Fails);
    let Enqueued::New(id) = enqueue(&db, DE_VRIES, &K, Some("p:1")).await.unwrap() else {
        panic!("not new")
    };
    let company = cmp(DE_VRIES);
    let row = async || {
        db.tenant(&company, async |tc| jobs::get(tc, id).await)
            .await
            .unwrap()
    };
    // Attempt n fails: retried between base*2^(n-1)/2 and base*2^(n-1).
    for (attempt, lo, hi) in [(1, 5.0, 10.0), (2, 10.0, 20.0)] {
        let claimed = jobs::claim(&db, "w1", 10, 60).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].attempts, attempt);
        let before = Utc::now();
        let out = jobs::execute(&db, &reg, "w1", &claimed[0]).await.unwrap();
        let Outcome::Retry(at) = out else {
            panic!("{out:?}")
        };
        let wait = (at - before).as_seconds_f64();
        assert!(
            wait >= lo - 0.5 && wait <= hi + 0.5,
            "attempt {attempt}: {wait}"
        );
        let r = row().await;
        assert_eq!((r.state.as_str(), r.attempts), ("failed", attempt));
        assert_eq!(
            r.last_error.as_deref(),
            Some(format!("upstream 503 on attempt {attempt}").as_str())
        );
        // Not due before its time.
        assert!(jobs::claim(&db, "w1", 10, 60).await.unwrap().is_empty());
        make_due(&db, DE_VRIES).await;
    }
    let claimed = jobs::claim(&db, "w1", 10, 60).await.unwrap();
    assert_eq!(
        jobs::execute(&db, &reg, "w1", &claimed[0]).await.unwrap(),
        Outcome::Dead
    );
    let r = row().await;
    assert_eq!((r.state.as_str(), r.attempts), ("dead", 3));
    assert_eq!(r.last_error.as_deref(), Some("upstream 503 on attempt 3"));
    make_due(&db, DE_VRIES).await;
    assert!(
        jobs::claim(&db, "w1", 10, 60).await.unwrap().is_empty(),
        "a dead job ran"
    );
    // The page shows it to its own workspace only.
    let open = db
        .tenant(&company, async |tc| jobs::list_open(tc, 100).await)
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let other = db
        .tenant(&cmp(BROUWER), async |tc| jobs::list_open(tc, 100).await)
        .await
        .unwrap();
    assert!(other.is_empty());
    // Another workspace can neither retry nor discard it.
    let actor = uuid::Uuid::new_v4();
    let foreign = db
        .tenant(&cmp(BROUWER), async |tc| {
            jobs::retry_now(tc, id, actor, "r1").await
        })
        .await;
    assert!(matches!(foreign, Err(DbError::NotFound)), "{foreign:?}");
    // Retry now: due at once with fresh attempts, audited.
    db.tenant(&company, async |tc| {
        jobs::retry_now(tc, id, actor, "r2").await
    })
    .await
    .unwrap();
    let r = row().await;
    assert_eq!((r.state.as_str(), r.attempts), ("queued", 0));
    assert_eq!(jobs::claim(&db, "w1", 10, 60).await.unwrap().len(), 1);
    // Running: neither retried nor discarded.
    let busy = db
        .tenant(&company, async |tc| {
            jobs::discard(tc, id, actor, "r3").await
        })
        .await;
    assert!(matches!(busy, Err(DbError::NotFound)), "{busy:?}");
    let claimed_again = jobs::claim(&db, "w1", 10, 60).await.unwrap();
    assert!(claimed_again.is_empty());
    let audit = audit_actions(&db, DE_VRIES).await;
    assert!(audit.contains(&"jobs.retried".to_string()), "{audit:?}");
    // Discard a failed job: it never runs again, and its key stays taken.
    db.tenant(&company, async |tc| {
        #[expect(
            clippy::disallowed_methods,
            reason = "test fixture: end the running attempt"
        )]
        let conn = tc.conn();
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query("UPDATE jobs SET state = 'failed', locked_by = NULL"),
            conn,
        )
        .await?;
        jobs::discard(tc, id, actor, "r4").await
    })
    .await
    .unwrap();
    assert_eq!(row().await.state, "discarded");
    make_due(&db, DE_VRIES).await;
    assert!(jobs::claim(&db, "w1", 10, 60).await.unwrap().is_empty());
    assert_eq!(
        enqueue(&db, DE_VRIES, &K, Some("p:1")).await.unwrap(),
        Enqueued::Duplicate
    );
    let audit = audit_actions(&db, DE_VRIES).await;
    assert!(audit.contains(&"jobs.discarded".to_string()), "{audit:?}");
    assert!(
        audit_actions(&db, BROUWER)
            .await
            .iter()
            .all(|a| !a.starts_with("jobs."))
    );
}

async fn audit_actions(db: &Database, company: &str) -> Vec<String> {
    db.tenant(&cmp(company), async |tc| {
        metiva_db::repo::audit::list(tc, 50).await
    })
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.action)
    .collect()
}

/// Test fixture: every waiting job of the company is due now.
async fn make_due(db: &Database, company: &str) {
    db.tenant(&cmp(company), async |tc| {
        #[expect(clippy::disallowed_methods, reason = "test fixture: skip the backoff wait")]
        let conn = tc.conn();
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query("UPDATE jobs SET run_at = now() - interval '1 second' WHERE state IN ('queued', 'failed', 'dead')"),
            conn,
        )
        .await?;
        Ok(())
    })
    .await
    .unwrap();
}

struct Count(Arc<AtomicUsize>);

impl Handler for Count {
    fn run<'a>(
        &'a self,
        _tc: &'a mut TenantConn<'_>,
        _job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(())
        })
    }
}

#[tokio::test]
async fn a_key_runs_once_with_two_workers_enqueueing_and_claiming_at_once() {
    let (tdb, db) = setup().await;
    // The retention slot's kind, with a counting handler: both workers'
    // cron passes enqueue the same slot for every company.
    const SWEEP: JobKind = JobKind {
        name: "retention.sweep",
        max_attempts: 3,
        backoff: FAST,
    };
    let runs = Arc::new(AtomicUsize::new(0));
    let mut reg = Registry::default();
    reg.register(SWEEP, Count(runs.clone()));
    let reg = Arc::new(reg);
    let db2 = tdb.database();
    let now = Utc::now();
    let (a, b) = tokio::join!(
        async { CronState::default().tick(&db, &reg, now).await },
        async { CronState::default().tick(&db2, &reg, now).await },
    );
    let companies = jobs::job_companies(&db).await.unwrap().len();
    assert_eq!(a + b, companies, "enqueued {a} + {b}");
    // The same key enqueued at once by both: one job.
    const K: JobKind = JobKind {
        name: "test.key",
        max_attempts: 3,
        backoff: FAST,
    };
    let mut reg2 = (*reg).clone();
    reg2.register(K, Count(runs.clone()));
    let reg = Arc::new(reg2);
    let (x, y) = tokio::join!(
        enqueue(&db, DE_VRIES, &K, Some("company:retainer:2026-12")),
        enqueue(&db2, DE_VRIES, &K, Some("company:retainer:2026-12")),
    );
    let mut outcomes = [x.unwrap(), y.unwrap()].map(|e| matches!(e, Enqueued::New(_)));
    outcomes.sort();
    assert_eq!(outcomes, [false, true]);
    // Two workers drain the queue together: each job runs once.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stop = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let w1 = tokio::spawn(server::worker::run(
        db.clone(),
        reg.clone(),
        config("w1"),
        stop(stop_rx.clone()),
    ));
    let w2 = tokio::spawn(server::worker::run(
        db2.clone(),
        reg.clone(),
        config("w2"),
        stop(stop_rx),
    ));
    let want = companies + 1;
    let t = std::time::Instant::now();
    while runs.load(Ordering::SeqCst) < want && t.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_tx.send(true).unwrap();
    w1.await.unwrap();
    w2.await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), want);
    // Keyed jobs stay as done, so the slot can never be enqueued again.
    let again = CronState::default().tick(&db, &reg, now).await;
    assert_eq!(again, 0);
    let done = db
        .tenant(&cmp(DE_VRIES), async |tc| {
            jobs::by_key(tc, "company:retainer:2026-12").await
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((done.state.as_str(), done.attempts), ("done", 1));
}
