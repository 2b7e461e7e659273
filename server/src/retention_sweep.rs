//! The hourly retention sweep as a job: the cron schedule
//! `retention-sweep` (`metiva_db::jobs::SCHEDULES`) enqueues one
//! `retention.sweep` job per company per hour, and the worker runs this
//! handler for it.
//!
//! # Security
//! The company is the job's own; the sweep runs through
//! [`Sweeper::sweep_company`], whose batches are each a short transaction
//! bound to that company (`for_sweep`), so a long sweep never holds one
//! long transaction. The job's own transaction records its completion
//! only. Two instances cannot sweep one company twice in one hour (the
//! cron slot's job key), and a sweep already running elsewhere answers
//! `Busy` (the claim row in `retention_sweeps`), which is not a failure.
//! Logs carry company ids and counts only.

use metiva_db::jobs::{Backoff, BoxFuture, Handler, JobError, JobInfo, JobKind};
use metiva_db::retention::{SweepOutcome, Sweeper};
use metiva_db::{CompanyId, DbError, TenantConn};

/// The retention sweep's job kind: three tries, then dead on
/// `/settings/jobs` (the next hour's slot sweeps again anyway).
pub const KIND: JobKind = JobKind {
    name: "retention.sweep",
    max_attempts: 3,
    backoff: Backoff::DEFAULT,
};

/// Sweeps one company for the job `job`; `Busy` (running elsewhere) is
/// not a failure. Claimed under the job's id, so an attempt after a
/// crash resumes the killed attempt's claim instead of answering `Busy`
/// until it goes stale (`metiva_db::retention`, issue 16).
pub async fn sweep_for_job<S: Sweeper>(
    sweeper: &S,
    company: &CompanyId,
    job: uuid::Uuid,
) -> Result<(), JobError> {
    answer(company, sweeper.sweep_job(company, job).await)
}

fn answer(company: &CompanyId, outcome: Result<SweepOutcome, DbError>) -> Result<(), JobError> {
    match outcome {
        Ok(SweepOutcome::Swept(c)) => {
            tracing::info!(
                company = company.as_str(),
                page_views = c.page_views,
                visitors = c.visitors,
                consent_decisions = c.consent_decisions,
                contacts = c.contacts,
                batches = c.batches,
                "retention sweep"
            );
            Ok(())
        }
        Ok(SweepOutcome::Busy) => {
            tracing::debug!(
                company = company.as_str(),
                "retention sweep: running elsewhere"
            );
            Ok(())
        }
        Err(e) => Err(JobError::retry(format!("retention sweep: {e}"))),
    }
}

/// The handler: sweeps the job's company.
pub struct RetentionSweep<S: Sweeper> {
    sweeper: S,
}

impl<S: Sweeper> RetentionSweep<S> {
    pub fn new(sweeper: S) -> Self {
        Self { sweeper }
    }
}

impl<S: Sweeper> Handler for RetentionSweep<S> {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            // The runner's own bookkeeping: finished cron rows past their
            // keep time (the every-minute SLA sweep adds 1,440 a day).
            let before = chrono::Utc::now() - metiva_db::jobs::CRON_ROWS_KEPT;
            let pruned = metiva_db::jobs::prune_finished_cron(tc, before).await?;
            if pruned > 0 {
                tracing::info!(company = %job.company, pruned, "jobs: finished cron rows pruned");
            }
            sweep_for_job(&self.sweeper, &job.company, job.id).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use metiva_db::retention::SweepCounts;

    use super::*;

    #[derive(Clone, Default)]
    struct Fake {
        calls: Arc<AtomicUsize>,
    }

    impl Sweeper for Fake {
        async fn companies(&self) -> Result<Vec<CompanyId>, DbError> {
            Ok(Vec::new())
        }

        async fn sweep_company(&self, company: &CompanyId) -> Result<SweepOutcome, DbError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match company.as_str() {
                "cmp_bbbbbb" => Ok(SweepOutcome::Busy),
                "cmp_cccccc" => Err(DbError::Internal("boom".into())),
                _ => Ok(SweepOutcome::Swept(SweepCounts::default())),
            }
        }
    }

    fn company(s: &str) -> CompanyId {
        CompanyId::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn a_busy_company_is_done_and_a_failing_one_is_retried() {
        let fake = Fake::default();
        assert_eq!(
            sweep_for_job(&fake, &company("cmp_aaaaaa"), uuid::Uuid::new_v4()).await,
            Ok(())
        );
        assert_eq!(
            sweep_for_job(&fake, &company("cmp_bbbbbb"), uuid::Uuid::new_v4()).await,
            Ok(())
        );
        let err = sweep_for_job(&fake, &company("cmp_cccccc"), uuid::Uuid::new_v4()).await;
        assert!(matches!(err, Err(JobError { retry: true, .. })), "{err:?}");
        assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_sweep_is_hourly_in_the_cron() {
        let cron = metiva_db::jobs::SCHEDULES
            .iter()
            .find(|c| c.kind == KIND.name);
        assert!(
            matches!(cron.map(|c| c.at), Some(metiva_db::jobs::At::Hourly { .. })),
            "{cron:?}"
        );
    }
}
