//! The job worker: claims due jobs (`metiva_db::jobs`), runs each under its
//! company's binding, enqueues the cron's slots, and stops gracefully.
//! Runs inside `metiva serve`, or alone with `metiva serve --only worker`.
//!
//! Shutdown (SIGTERM): no new claims; running jobs get
//! `METIVA_JOBS_GRACE_SECS` (default 30) to finish; the rest are cut off
//! (their transactions roll back) and released, due at once for another
//! worker, their attempt not counted. A worker killed outright (SIGKILL)
//! releases nothing: its jobs are claimed again once their lease
//! (`METIVA_JOBS_LOCK_TIMEOUT_SECS`, default 300) has expired.
//!
//! # Security
//! The worker never reads a job's payload or any tenant row outside that
//! job's company binding (`Database::for_job`); its one cross-tenant read
//! is the claim, which answers ids, company and kind only. Logs carry job
//! ids, kinds and company ids, never payloads.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use metiva_db::jobs::{
    self, Claimed, Enqueued, JobError, NewJob, Outcome, Registry, SCHEDULES, due_slot,
};
use metiva_db::{CompanyId, Database, DbError};
use tokio::task::JoinSet;

/// How the worker behaves; from the environment in `serve`.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This worker's name in `jobs.locked_by` (host, pid and a random
    /// suffix by default).
    pub id: String,
    /// Jobs run at once (`METIVA_JOBS_CONCURRENCY`, default 4).
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs (`METIVA_JOBS_POLL_MS`,
    /// default 500).
    pub poll: Duration,
    /// A claimed job's lease: after it, a job whose worker died is due
    /// again (`METIVA_JOBS_LOCK_TIMEOUT_SECS`, default 300).
    pub lease: Duration,
    /// How long running jobs may finish after SIGTERM
    /// (`METIVA_JOBS_GRACE_SECS`, default 30).
    pub grace: Duration,
    /// The first cron pass after start (`METIVA_JOBS_CRON_FIRST_SECS`,
    /// default 60: not during start-up); then every 30 s.
    pub cron_first: Duration,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl WorkerConfig {
    pub fn from_env() -> Self {
        Self {
            id: format!(
                "{}-{}",
                std::process::id(),
                hex::encode(rand::random::<[u8; 4]>())
            ),
            concurrency: usize::try_from(env_u64("METIVA_JOBS_CONCURRENCY", 4).clamp(1, 64))
                .unwrap_or(4),
            poll: Duration::from_millis(env_u64("METIVA_JOBS_POLL_MS", 500).clamp(10, 60_000)),
            lease: Duration::from_secs(
                env_u64("METIVA_JOBS_LOCK_TIMEOUT_SECS", 300).clamp(1, 86_400),
            ),
            grace: Duration::from_secs(env_u64("METIVA_JOBS_GRACE_SECS", 30).min(3600)),
            cron_first: Duration::from_secs(env_u64("METIVA_JOBS_CRON_FIRST_SECS", 60)),
        }
    }
}

/// Every handler `metiva serve` runs. Register new kinds here. `keys`
/// sign and verify the audit log's retention checkpoints.
pub fn registry(
    db: &Database,
    keys: &std::sync::Arc<metiva_security::cipher::KeyRing>,
) -> Registry {
    let mut r = Registry::default();
    r.register(
        crate::retention_sweep::KIND,
        crate::retention_sweep::RetentionSweep::new(metiva_db::retention::KeyedSweeper {
            db: db.clone(),
            keys: keys.clone(),
        }),
    );
    // The SLA breach sweep (issue 18), every minute per company.
    r.register(metiva_db::alerts::SLA_SWEEP, metiva_db::alerts::SlaSweep);
    // Issue 16: the daily audit-chain verify, recorded per workspace.
    r.register(
        metiva_db::audit_checks::CHAIN_VERIFY,
        metiva_db::audit_checks::ChainVerifyJob::new(db.clone(), keys.clone()),
    );
    #[cfg(feature = "test-support")]
    if let Some(ms) = std::env::var("METIVA_JOBS_TEST_SLEEP_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        r.register(
            test_support::SLEEP,
            test_support::Sleep(Duration::from_millis(ms)),
        );
    }
    r
}

/// A job kind for the process tests (`test-support` builds only): sleeps,
/// then succeeds, so a test can stop or kill a worker mid-job.
#[cfg(feature = "test-support")]
pub mod test_support {
    use std::time::Duration;

    use metiva_db::TenantConn;
    use metiva_db::jobs::{Backoff, BoxFuture, Handler, JobError, JobInfo, JobKind};

    pub const SLEEP: JobKind = JobKind {
        name: "test.sleep",
        max_attempts: 5,
        backoff: Backoff::DEFAULT,
    };

    pub struct Sleep(pub Duration);

    impl Handler for Sleep {
        fn run<'a>(
            &'a self,
            _tc: &'a mut TenantConn<'_>,
            job: &'a JobInfo,
        ) -> BoxFuture<'a, Result<(), JobError>> {
            Box::pin(async move {
                tracing::info!(job = %job.id, attempt = job.attempt, "test.sleep started");
                tokio::time::sleep(self.0).await;
                Ok(())
            })
        }
    }
}

/// Cron state: the last slot enqueued per schedule, in this process.
#[derive(Default)]
pub struct CronState {
    last: HashMap<&'static str, DateTime<Utc>>,
}

impl CronState {
    /// Enqueues each schedule's current slot for every active company,
    /// once per slot per process (the slot's job key makes it once across
    /// processes). Schedules whose kind has no handler here are skipped.
    /// Returns how many jobs were new.
    pub async fn tick(&mut self, db: &Database, registry: &Registry, now: DateTime<Utc>) -> usize {
        let mut added = 0;
        let mut companies: Option<Vec<CompanyId>> = None;
        for cron in &SCHEDULES {
            let Some(kind) = registry.kind(cron.kind) else {
                continue;
            };
            let slot = due_slot(&cron.at, now);
            if self.last.get(cron.name) == Some(&slot) {
                continue;
            }
            if companies.is_none() {
                match jobs::job_companies(db).await {
                    Ok(c) => companies = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "jobs: listing companies for the cron failed");
                        return added;
                    }
                }
            }
            let key = cron.key(slot);
            let payload = format!("{{\"slot\":\"{}\"}}", slot.to_rfc3339());
            let mut all = true;
            for company in companies.iter().flatten() {
                let job = NewJob {
                    kind: &kind,
                    payload: &payload,
                    key: Some(&key),
                    run_at: None,
                };
                match db
                    .for_job(company, async |tc| jobs::enqueue(tc, &job).await)
                    .await
                {
                    Ok(Enqueued::New(_)) => added += 1,
                    Ok(Enqueued::Duplicate) => {}
                    Err(e) => {
                        all = false;
                        tracing::warn!(company = company.as_str(), cron = cron.name, error = %e, "jobs: cron enqueue failed");
                    }
                }
            }
            if all {
                self.last.insert(cron.name, slot);
            }
        }
        added
    }
}

/// Runs the worker until `stop` completes, then drains (see the module
/// docs).
pub async fn run(
    db: Database,
    registry: Arc<Registry>,
    cfg: WorkerConfig,
    stop: impl Future<Output = ()>,
) {
    tracing::info!(worker = %cfg.id, concurrency = cfg.concurrency, "job worker started");
    let lease = i32::try_from(cfg.lease.as_secs()).unwrap_or(300);
    let mut running: JoinSet<Result<Outcome, DbError>> = JoinSet::new();
    let mut claimed: HashMap<tokio::task::Id, Claimed> = HashMap::new();
    let mut cron = CronState::default();
    let mut next_cron = tokio::time::Instant::now() + cfg.cron_first;
    tokio::pin!(stop);
    loop {
        if tokio::time::Instant::now() >= next_cron {
            cron.tick(&db, &registry, Utc::now()).await;
            next_cron = tokio::time::Instant::now() + Duration::from_secs(30);
        }
        let free = cfg.concurrency.saturating_sub(running.len());
        let mut full = false;
        if free > 0 {
            let n = i32::try_from(free).unwrap_or(1);
            match jobs::claim(&db, &cfg.id, n, lease).await {
                Ok(batch) => {
                    full = batch.len() == free;
                    for job in batch {
                        let (db, reg, worker, j) = (
                            db.clone(),
                            Arc::clone(&registry),
                            cfg.id.clone(),
                            job.clone(),
                        );
                        let handle = running
                            .spawn(async move { jobs::execute(&db, &reg, &worker, &j).await });
                        claimed.insert(handle.id(), job);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "jobs: claim failed"),
            }
        }
        // A full batch: look again at once. Otherwise wait for a slot, the
        // poll interval or the stop.
        let idle = if full { Duration::ZERO } else { cfg.poll };
        tokio::select! {
            () = &mut stop => break,
            Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                settle(&db, &registry, &cfg.id, &mut claimed, done).await;
            }
            () = tokio::time::sleep(idle) => {}
        }
    }
    tracing::info!(worker = %cfg.id, running = running.len(), "job worker stopping");
    let grace = tokio::time::sleep(cfg.grace);
    tokio::pin!(grace);
    while !running.is_empty() {
        tokio::select! {
            () = &mut grace => break,
            Some(done) = running.join_next_with_id() => {
                settle(&db, &registry, &cfg.id, &mut claimed, done).await;
            }
        }
    }
    // Cut off what is left: its transactions roll back when dropped.
    running.abort_all();
    while let Some(done) = running.join_next_with_id().await {
        settle(&db, &registry, &cfg.id, &mut claimed, done).await;
    }
    tracing::info!(worker = %cfg.id, "job worker stopped");
}

type Done = Result<(tokio::task::Id, Result<Outcome, DbError>), tokio::task::JoinError>;

/// Logs a finished task; a cut-off job is released, a panicked one
/// recorded as a failed attempt.
async fn settle(
    db: &Database,
    registry: &Registry,
    worker: &str,
    claimed: &mut HashMap<tokio::task::Id, Claimed>,
    done: Done,
) {
    let (id, result) = match done {
        Ok((id, r)) => (id, Ok(r)),
        Err(e) => (e.id(), Err(e)),
    };
    let Some(job) = claimed.remove(&id) else {
        return;
    };
    let (company, kind, job_id) = (job.company_id.as_str(), job.kind.as_str(), job.id);
    match result {
        Ok(Ok(Outcome::Done)) => {
            tracing::debug!(company, kind, %job_id, "job done");
        }
        Ok(Ok(Outcome::Retry(at))) => {
            tracing::info!(company, kind, %job_id, attempt = job.attempts, retry_at = %at, "job failed; will retry");
        }
        Ok(Ok(Outcome::Dead)) => {
            tracing::warn!(company, kind, %job_id, attempt = job.attempts, "job failed for good (dead)");
        }
        Ok(Ok(Outcome::Lost)) => {
            tracing::warn!(company, kind, %job_id, "job lease lost to another worker");
        }
        Ok(Err(e)) => {
            tracing::warn!(company, kind, %job_id, error = %e, "job: recording its outcome failed; its lease will expire");
        }
        Err(e) if e.is_cancelled() => match jobs::release(db, worker, &job).await {
            Ok(_) => tracing::info!(company, kind, %job_id, "job cut off at shutdown; released"),
            Err(e) => {
                tracing::warn!(company, kind, %job_id, error = %e, "job: release failed; its lease will expire");
            }
        },
        Err(_) => {
            let err = JobError::retry("the handler panicked");
            let kind_def = registry.kind(kind);
            if let Err(e) = jobs::fail_claimed(db, worker, &job, kind_def.as_ref(), &err).await {
                tracing::warn!(company, kind, %job_id, error = %e, "job: recording a panic failed");
            }
        }
    }
}
