//! The hourly retention sweep inside `metiva serve`, until a job runner
//! exists: a scheduler that walks every company through one small trait,
//! [`Sweeper`], so the runner can take the same sweeps over later.
//!
//! # Security
//! The scheduler never touches the database itself: the sweeper lists the
//! company ids (the sweep's one cross-tenant read) and sweeps each under
//! its own tenant binding. Two instances may both tick: a company whose
//! sweep is already running elsewhere answers `Busy` and is skipped (see
//! `metiva_db::retention`). Logs carry company ids and counts only.

use std::future::Future;
use std::time::Duration;

use metiva_db::retention::{SweepOutcome, Sweeper};

/// How often the sweep runs.
pub const EVERY: Duration = Duration::from_secs(60 * 60);

/// How long after start-up the first sweep runs (not during start-up).
pub const FIRST_AFTER: Duration = Duration::from_secs(60);

/// Sweeps every company once; returns how many were swept (not busy, not
/// failed). A failed company is logged and the walk goes on.
pub async fn sweep_all<S: Sweeper>(sweeper: &S) -> usize {
    let companies = match sweeper.companies().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "retention sweep: listing companies failed");
            return 0;
        }
    };
    let mut swept = 0;
    for company in &companies {
        match sweeper.sweep_company(company).await {
            Ok(SweepOutcome::Swept(c)) => {
                swept += 1;
                tracing::info!(
                    company = company.as_str(),
                    page_views = c.page_views,
                    visitors = c.visitors,
                    consent_decisions = c.consent_decisions,
                    contacts = c.contacts,
                    batches = c.batches,
                    "retention sweep"
                );
            }
            Ok(SweepOutcome::Busy) => {
                tracing::debug!(
                    company = company.as_str(),
                    "retention sweep: running elsewhere"
                );
            }
            Err(e) => {
                tracing::warn!(company = company.as_str(), error = %e, "retention sweep failed");
            }
        }
    }
    swept
}

/// Runs [`sweep_all`] `first` after start, then every `every`, until
/// `stop` completes (mid-sweep too). A sweep that overruns delays the next tick rather
/// than queueing several.
pub async fn run<S: Sweeper>(
    sweeper: S,
    first: Duration,
    every: Duration,
    stop: impl Future<Output = ()>,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = tick.tick() => {
                // Shutdown does not wait for a sweep: a batch cut off rolls
                // back, and its claim is abandoned after its heartbeat stops.
                tokio::select! {
                    () = &mut stop => return,
                    _ = sweep_all(&sweeper) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use metiva_db::retention::SweepCounts;
    use metiva_db::{CompanyId, DbError};

    use super::*;

    #[derive(Clone, Default)]
    struct Fake {
        calls: Arc<AtomicUsize>,
    }

    impl Sweeper for Fake {
        async fn companies(&self) -> Result<Vec<CompanyId>, DbError> {
            ["cmp_aaaaaa", "cmp_bbbbbb", "cmp_cccccc"]
                .iter()
                .map(|c| CompanyId::parse(c).map_err(|e| DbError::Internal(e.to_string())))
                .collect()
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

    #[tokio::test]
    async fn a_busy_or_failing_company_does_not_stop_the_walk() {
        let fake = Fake::default();
        assert_eq!(sweep_all(&fake).await, 1);
        assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn the_scheduler_ticks_after_its_first_delay_then_every_period_until_stopped() {
        let fake = Fake::default();
        let calls = fake.calls.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let ms = Duration::from_millis;
        let task = tokio::spawn(run(fake, ms(100), ms(400), async {
            let _ = rx.await;
        }));
        tokio::time::sleep(ms(50)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "swept during start-up");
        tokio::time::sleep(ms(200)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        tokio::time::sleep(ms(400)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        let _ = tx.send(());
        assert!(task.await.is_ok());
    }
}
