//! Durable jobs in PostgreSQL: the API every background job uses (the
//! retention sweep, retainer billing, SLA sweeps, conversion uploads).
//!
//! A job is a row of the tenant table `jobs` (migration `jobs`): its
//! company, a kind, a small text payload (JSON by convention), an optional
//! key, when it may run, and its attempts. The worker (`server/src/worker.rs`,
//! in `metiva serve` or `metiva serve --only worker`) claims due jobs and
//! runs each one's [`Handler`] inside a transaction bound to the job's
//! company.
//!
//! # Usage
//!
//! ```ignore
//! use metiva_db::jobs::{self, Backoff, Handler, JobError, JobInfo, JobKind, NewJob};
//! use metiva_db::TenantConn;
//!
//! // 1. A kind: its name and how often it may be tried. A `const`, used
//! //    both to register the handler and to enqueue.
//! pub const RETAINER_INVOICE: JobKind = JobKind {
//!     name: "billing.retainer_invoice",
//!     max_attempts: 8,
//!     backoff: Backoff::DEFAULT, // 10 s doubling, capped at 1 h, jittered
//! };
//!
//! // 2. A handler. It receives the job's tenant transaction, never a pool:
//! //    everything it writes through `tc` commits together with the job's
//! //    completion, or rolls back with its failure.
//! struct IssueInvoice { /* e.g. a Stripe client */ }
//!
//! impl Handler for IssueInvoice {
//!     fn run<'a>(
//!         &'a self,
//!         tc: &'a mut TenantConn<'_>,
//!         job: &'a JobInfo,
//!     ) -> jobs::BoxFuture<'a, Result<(), JobError>> {
//!         Box::pin(async move {
//!             let retainer: RetainerPeriod = serde_json::from_str(&job.payload)
//!                 .map_err(|_| JobError::permanent("payload is not a retainer period"))?;
//!             do_the_work(tc, &retainer).await?; // DbError -> a retryable JobError
//!             Ok(())
//!         })
//!     }
//! }
//!
//! // 3. Registration, where the worker is built (server/src/worker.rs,
//! //    `registry()`):
//! registry.register(RETAINER_INVOICE, IssueInvoice { /* … */ });
//!
//! // 4. Enqueue inside the transaction of the change that causes it: a
//! //    rolled-back change leaves no job. A key makes it at most once per
//! //    company, for good (a finished job keeps its key).
//! let outcome = jobs::enqueue(tc, &NewJob {
//!     kind: &RETAINER_INVOICE,
//!     payload: &payload_json,
//!     key: Some(&format!("retainer:{retainer_id}:2026-12")),
//!     run_at: None, // now; or Some(a chrono::DateTime<Utc>)
//! }).await?;
//! // outcome: Enqueued::New(id) or Enqueued::Duplicate
//!
//! // 5. Cron: schedules are declared in code, in `cron::SCHEDULES`; each
//! //    due slot enqueues one job per active company, keyed by the slot,
//! //    so two instances enqueue it once. The retainer run is there:
//! //    `billing.retainer_run`, daily 06:00 Europe/Amsterdam; register a
//! //    handler for that kind and it runs.
//! ```
//!
//! # Delivery: at least once
//! A job runs at least once, not exactly once. A handler's database writes
//! through its `TenantConn` commit atomically with the job's completion, so
//! for database-only work a success is recorded exactly once. Anything a
//! handler does outside that transaction (an HTTP call to Stripe, a file
//! upload) may happen again: after a crash or `SIGKILL` mid-job (the job is
//! claimed again once its lease, the lock timeout, expires), after the
//! process's shutdown grace ran out, or when the commit's answer was lost.
//! Handlers must therefore be idempotent: derive an idempotency key from
//! the company and the job's subject, and look before you create.
//!
//! # Retries
//! Each claim counts an attempt. A failed attempt is retried after
//! [`Backoff::delay`] (exponential, with jitter); after the kind's
//! `max_attempts` the job is `dead`, with its last error, until a person
//! retries or discards it on `/settings/jobs` (both audited). A handler
//! returns [`JobError::permanent`] for a failure no retry can fix.
//!
//! # Security
//! - Jobs carry `company_id` and live under forced RLS like every tenant
//!   table. The dispatcher's claim (`metiva_claim_jobs()`, owned by the
//!   directory role) is the one cross-tenant read: it answers ids, company
//!   and kind, never the payload. The handler runs in
//!   [`metiva_tenancy::Database::for_job`], bound to the job's company, so
//!   it sees that company's rows only.
//! - Payloads and errors are stored in the operational database and shown
//!   to the workspace's admins: ids only, never personal data.

mod cron;
mod page;
mod store;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{CompanyId, DbError, TenantConn};

pub use cron::{At, Cron, SCHEDULES, due_slot};
/// The future a [`Handler`] returns (re-exported so handler crates need no
/// `futures` dependency).
pub use futures::future::BoxFuture;
pub use page::PAGE_LIMIT;
pub use store::{
    CRON_ROWS_KEPT, Claimed, Enqueued, JobRow, JobState, NewJob, Outcome, by_key, claim, discard,
    enqueue, execute, fail_claimed, get, job_companies, list_open, prune_finished_cron, release,
    retry_now,
};

/// A kind of job: its name and its retry policy. Declare it as a `const`
/// and use it both to register the handler and to enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobKind {
    /// `^[a-z][a-z0-9_.]{0,63}$`, e.g. `billing.retainer_invoice`.
    pub name: &'static str,
    /// Claims before the job is dead (1..=100).
    pub max_attempts: i32,
    pub backoff: Backoff,
}

/// Exponential backoff with jitter: before retry `n` (after `n` failed
/// attempts) wait a random time in `[d/2, d]`, where
/// `d = min(base * 2^(n-1), cap)` ("equal jitter": never less than half
/// the exponential step, so retries still spread out, and never in
/// lock-step across instances).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// 10 s, 20 s, 40 s, … capped at 1 h (each jittered down to half).
    pub const DEFAULT: Backoff = Backoff {
        base: Duration::from_secs(10),
        cap: Duration::from_secs(60 * 60),
    };

    /// The un-jittered step after `failed` failed attempts (>= 1).
    pub fn step(&self, failed: i32) -> Duration {
        let exp = u32::try_from(failed.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        self.base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// The delay before the next attempt after `failed` failed attempts:
    /// uniformly random in `[step/2, step]`.
    pub fn delay(&self, failed: i32) -> Duration {
        let step = self.step(failed);
        let half = step / 2;
        let spread = u64::try_from((step - half).as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::random_range(0..=spread))
    }
}

/// What a handler knows about the job it runs.
#[derive(Debug, Clone)]
pub struct JobInfo {
    pub id: Uuid,
    pub company: CompanyId,
    pub kind: String,
    /// As enqueued (JSON by convention; ids only).
    pub payload: String,
    pub key: Option<String>,
    /// This attempt's number, from 1.
    pub attempt: i32,
    pub max_attempts: i32,
}

/// Why an attempt failed. The message is stored and shown on
/// `/settings/jobs`: ids and reason codes only, never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    pub message: String,
    /// `false`: no retry can help (a malformed payload); the job is dead
    /// at once.
    pub retry: bool,
    /// Issue 18 (adapters): the next attempt is not before now + this (a
    /// provider's `Retry-After`); the later of this and the backoff wins.
    pub retry_after: Option<Duration>,
    /// Issue 18 (adapters): rescheduled at this time WITHOUT counting an
    /// attempt (an open circuit breaker: the job never reached the
    /// provider, so it must never use up its attempts or go dead).
    pub defer_until: Option<DateTime<Utc>>,
}

impl JobError {
    /// A failure worth retrying (a timeout, a 503 from a third party).
    pub fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry: true,
            retry_after: None,
            defer_until: None,
        }
    }

    /// A failure no retry can fix: the job goes dead at once.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry: false,
            retry_after: None,
            defer_until: None,
        }
    }

    /// Issue 18: a retryable failure whose next attempt is not before
    /// `after` from now (a provider's `Retry-After`). Counts an attempt.
    pub fn retry_after(message: impl Into<String>, after: Duration) -> Self {
        Self {
            retry_after: Some(after),
            ..Self::retry(message)
        }
    }

    /// Issue 18: reschedule at `at` without counting an attempt (an open
    /// circuit breaker). The job stays `queued`; its attempts are as
    /// before the claim, so a provider that is down never kills a job.
    pub fn defer(message: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            defer_until: Some(at),
            ..Self::retry(message)
        }
    }
}

impl From<DbError> for JobError {
    fn from(e: DbError) -> Self {
        JobError::retry(e.to_string())
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Runs one kind of job. `tc` is the job's own transaction, bound to the
/// job's company: what the handler writes through it commits with the
/// job's completion, or rolls back with its failure. Must be idempotent
/// (see the module docs: at least once).
pub trait Handler: Send + Sync + 'static {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>>;
}

/// A kind with its handler.
#[derive(Clone)]
pub struct Registered {
    pub kind: JobKind,
    pub handler: Arc<dyn Handler>,
}

/// The handlers a worker runs, by kind name.
#[derive(Clone, Default)]
pub struct Registry {
    kinds: HashMap<&'static str, Registered>,
}

impl Registry {
    /// Registers `handler` for `kind`; a second registration of the same
    /// name replaces the first.
    pub fn register(&mut self, kind: JobKind, handler: impl Handler) -> &mut Self {
        self.kinds.insert(
            kind.name,
            Registered {
                kind,
                handler: Arc::new(handler),
            },
        );
        self
    }

    /// The handler for a kind name, if one is registered.
    pub fn get(&self, name: &str) -> Option<&Registered> {
        self.kinds.get(name)
    }

    /// The kind registered under `name`.
    pub fn kind(&self, name: &str) -> Option<JobKind> {
        self.kinds.get(name).map(|r| r.kind)
    }
}

/// When a job becomes due again after `failed` failed attempts.
pub fn next_run(kind: &JobKind, failed: i32, now: DateTime<Utc>) -> DateTime<Utc> {
    let d = chrono::TimeDelta::from_std(kind.backoff.delay(failed))
        .unwrap_or(chrono::TimeDelta::hours(1));
    now + d
}

/// Issue 18: [`next_run`], but never before `now + retry_after` when the
/// error carries a provider's `Retry-After`.
pub fn next_run_after(
    kind: &JobKind,
    failed: i32,
    now: DateTime<Utc>,
    retry_after: Option<Duration>,
) -> DateTime<Utc> {
    let backoff = next_run(kind, failed, now);
    match retry_after.and_then(|d| chrono::TimeDelta::from_std(d).ok()) {
        Some(d) => backoff.max(now + d),
        None => backoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_its_base_up_to_its_cap() {
        let b = Backoff::DEFAULT;
        let s: Vec<u64> = (1..=12).map(|n| b.step(n).as_secs()).collect();
        assert_eq!(
            s,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]
        );
        assert_eq!(b.step(1_000).as_secs(), 3600);
        assert_eq!(b.step(0).as_secs(), 10);
    }

    #[test]
    fn the_jitter_stays_within_half_and_the_whole_step_and_varies() {
        let b = Backoff::DEFAULT;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = b.delay(3);
            assert!(
                d >= Duration::from_secs(20) && d <= Duration::from_secs(40),
                "{d:?}"
            );
            seen.insert(d.as_millis());
        }
        assert!(seen.len() > 50, "jitter barely varies: {}", seen.len());
    }
}
