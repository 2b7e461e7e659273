//! The `jobs` table: enqueue, the dispatcher's claim, running a claimed
//! job in its company's transaction, failure and backoff, release at
//! shutdown, and the page's list, retry and discard.

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{JobError, JobInfo, JobKind, Registry, next_run_after};
use crate::repo::audit::{AuditEntry, append};
use crate::schema::jobs;
use crate::{CompanyId, Database, DbError, TenantConn};

/// A job's state (the table's CHECK).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Running,
    Failed,
    Dead,
    Done,
    Discarded,
}

impl JobState {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Failed => "failed",
            JobState::Dead => "dead",
            JobState::Done => "done",
            JobState::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Failed,
            JobState::Dead,
            JobState::Done,
            JobState::Discarded,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    pub kind: &'a JobKind,
    /// JSON by convention; ids only (at most 64 KiB).
    pub payload: &'a str,
    /// At most once per company, for good: `retainer:ret_1:2026-12`.
    pub key: Option<&'a str>,
    /// Not before this time; `None` is now.
    pub run_at: Option<DateTime<Utc>>,
}

/// What [`enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    New(Uuid),
    /// A job with this key exists (in any state, finished included):
    /// nothing was added.
    Duplicate,
}

/// Enqueues a job in the caller's transaction, bound to its company: it
/// commits or rolls back with the change that caused it.
pub async fn enqueue(tc: &mut TenantConn<'_>, job: &NewJob<'_>) -> Result<Enqueued, DbError> {
    let company = tc.company().as_str().to_string();
    let id: Option<Uuid> = diesel::insert_into(jobs::table)
        .values((
            jobs::company_id.eq(&company),
            jobs::kind.eq(job.kind.name),
            jobs::payload.eq(job.payload),
            jobs::job_key.eq(job.key),
            jobs::max_attempts.eq(job.kind.max_attempts),
            jobs::run_at.eq(job.run_at.unwrap_or_else(Utc::now)),
        ))
        .on_conflict_do_nothing()
        .returning(jobs::id)
        .get_result(tc.conn())
        .await
        .optional()?;
    Ok(id.map_or(Enqueued::Duplicate, Enqueued::New))
}

/// A job the dispatcher claimed (no payload: that is read under RLS).
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = Text)]
    pub company_id: String,
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
}

/// The dispatcher: claims up to `n` due jobs of any company for
/// `worker`, each leased for `lease_seconds` (see migration `jobs`).
///
/// # Security
/// The one cross-tenant read of the runner, through the directory
/// function `metiva_claim_jobs()`: it answers company, id, kind and
/// attempts only; everything else is read under the job's own binding.
pub async fn claim(
    db: &Database,
    worker: &str,
    n: i32,
    lease_seconds: i32,
) -> Result<Vec<Claimed>, DbError> {
    db.global(async |conn| {
        // Raw SQL: a set-returning directory function.
        Ok(diesel::sql_query(
            "SELECT company_id, id, kind, attempts, max_attempts FROM metiva_claim_jobs($1, $2, $3)",
        )
        .bind::<Text, _>(worker)
        .bind::<Integer, _>(n)
        .bind::<Integer, _>(lease_seconds)
        .load::<Claimed>(conn)
        .await?)
    })
    .await
}

#[derive(QueryableByName)]
struct CompanyRow {
    #[diesel(sql_type = Text)]
    company_id: String,
}

/// Every active company's id, for the cron (`metiva_job_companies()`,
/// ids only).
pub async fn job_companies(db: &Database) -> Result<Vec<CompanyId>, DbError> {
    let rows = db
        .global(async |conn| {
            // Raw SQL: a set-returning directory function.
            Ok(
                diesel::sql_query("SELECT company_id FROM metiva_job_companies()")
                    .load::<CompanyRow>(conn)
                    .await?,
            )
        })
        .await?;
    rows.into_iter()
        .map(|r| stored_company(&r.company_id))
        .collect()
}

/// A company id read back from the database (a bad one is a bug).
fn stored_company(id: &str) -> Result<CompanyId, DbError> {
    CompanyId::parse(id).map_err(|e| DbError::Internal(format!("company id in the database: {e}")))
}

/// How one run of a claimed job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Failed; retried at this time.
    Retry(DateTime<Utc>),
    /// Failed for good.
    Dead,
    /// Another worker holds the job now (this lease expired): nothing done.
    Lost,
}

/// Runs a claimed job: in one transaction bound to its company, locks the
/// job row (so no other worker can claim it while this transaction lives,
/// even past the lease), reads its payload, runs the handler, and marks
/// it done, all or nothing. A failed handler rolls its work back and the
/// failure is recorded in a transaction of its own.
pub async fn execute(
    db: &Database,
    registry: &Registry,
    worker: &str,
    job: &Claimed,
) -> Result<Outcome, DbError> {
    let company = stored_company(&job.company_id)?;
    let Some(reg) = registry.get(&job.kind) else {
        let err = JobError::retry(format!("no handler registered for kind {}", job.kind));
        return fail(db, &company, job, worker, None, &err).await;
    };
    let mut failure: Option<JobError> = None;
    let mut lost = false;
    let ran = db
        .for_job(&company, async |tc: &mut TenantConn<'_>| {
            let c = tc.company().as_str().to_string();
            let row: Option<(String, Option<String>)> = jobs::table
                .filter(jobs::company_id.eq(&c))
                .filter(jobs::id.eq(job.id))
                .filter(jobs::state.eq(JobState::Running.as_str()))
                .filter(jobs::locked_by.eq(worker))
                .filter(jobs::attempts.eq(job.attempts))
                .select((jobs::payload, jobs::job_key))
                .for_update()
                .get_result(tc.conn())
                .await
                .optional()?;
            let Some((payload, key)) = row else {
                lost = true;
                return Ok(());
            };
            let info = JobInfo {
                id: job.id,
                company: tc.company().clone(),
                kind: job.kind.clone(),
                payload,
                key: key.clone(),
                attempt: job.attempts,
                max_attempts: job.max_attempts,
            };
            if let Err(e) = reg.handler.run(tc, &info).await {
                failure = Some(e);
                // Roll the handler's writes back.
                return Err(DbError::Internal("job handler failed".into()));
            }
            finish(tc, job.id, key.is_some()).await
        })
        .await;
    if lost {
        return Ok(Outcome::Lost);
    }
    match (ran, failure) {
        (Ok(()), _) => Ok(Outcome::Done),
        (Err(_), Some(e)) => fail(db, &company, job, worker, Some(&reg.kind), &e).await,
        (Err(e), None) => {
            let err = JobError::retry(format!("database: {e}"));
            fail(db, &company, job, worker, Some(&reg.kind), &err).await
        }
    }
}

/// Marks a job done: kept (state `done`) when it has a key, so the key
/// stays taken; deleted otherwise.
async fn finish(tc: &mut TenantConn<'_>, id: Uuid, keyed: bool) -> Result<(), DbError> {
    let c = tc.company().as_str().to_string();
    let target = jobs::table
        .filter(jobs::company_id.eq(&c))
        .filter(jobs::id.eq(id));
    if keyed {
        diesel::update(target)
            .set((jobs::state.eq(JobState::Done.as_str()), unlocked()))
            .execute(tc.conn())
            .await?;
    } else {
        diesel::delete(target).execute(tc.conn()).await?;
    }
    Ok(())
}

/// Records a failed attempt of a claimed job outside its run (its handler
/// panicked): as [`execute`] records a handler's error.
pub async fn fail_claimed(
    db: &Database,
    worker: &str,
    job: &Claimed,
    kind: Option<&JobKind>,
    err: &JobError,
) -> Result<Outcome, DbError> {
    let company = stored_company(&job.company_id)?;
    fail(db, &company, job, worker, kind, err).await
}

/// Records a failed attempt: retried after the kind's backoff, or dead
/// when its attempts are used up or the error is permanent. Only while
/// this worker still holds the job.
async fn fail(
    db: &Database,
    company: &CompanyId,
    job: &Claimed,
    worker: &str,
    kind: Option<&JobKind>,
    err: &JobError,
) -> Result<Outcome, DbError> {
    // Issue 18: an open circuit breaker defers the job without using an
    // attempt (see `JobError::defer`).
    if let Some(at) = err.defer_until {
        return defer(db, company, job, worker, at, err).await;
    }
    let dead = !err.retry || job.attempts >= job.max_attempts;
    let backoff = kind.copied().unwrap_or(JobKind {
        name: "unregistered",
        max_attempts: job.max_attempts,
        backoff: super::Backoff::DEFAULT,
    });
    // Issue 18: never before a provider's Retry-After.
    let retry_at = next_run_after(&backoff, job.attempts, Utc::now(), err.retry_after);
    let message: String = err.message.chars().take(2000).collect();
    let state = if dead {
        JobState::Dead
    } else {
        JobState::Failed
    };
    let updated = settle(
        db,
        company,
        job,
        worker,
        Settle::Failed {
            state,
            retry_at,
            message: &message,
        },
    )
    .await?;
    Ok(match (updated, dead) {
        (false, _) => Outcome::Lost,
        (_, true) => Outcome::Dead,
        (_, false) => Outcome::Retry(retry_at),
    })
}

/// Issue 18: reschedules a claimed job at `at` without counting the
/// attempt (state `queued`, attempts back to what they were before the
/// claim), keeping the message as its last error so the page says why.
/// Only while this worker still holds the job. Answers `Retry(at)`.
async fn defer(
    db: &Database,
    company: &CompanyId,
    job: &Claimed,
    worker: &str,
    at: DateTime<Utc>,
    err: &JobError,
) -> Result<Outcome, DbError> {
    let message: String = err.message.chars().take(2000).collect();
    let updated = settle(
        db,
        company,
        job,
        worker,
        Settle::Deferred {
            at,
            message: &message,
        },
    )
    .await?;
    Ok(if updated {
        Outcome::Retry(at)
    } else {
        Outcome::Lost
    })
}

/// Shutdown: gives back a job this worker claimed but did not finish
/// (its handler was cut off after the grace period). The attempt is not
/// counted, and the job is due at once for another worker.
pub async fn release(db: &Database, worker: &str, job: &Claimed) -> Result<bool, DbError> {
    let company = stored_company(&job.company_id)?;
    settle(db, &company, job, worker, Settle::GivenBack).await
}

/// What a claimed job's run left to record.
enum Settle<'a> {
    /// Failed (`Failed` or `Dead`); due again at `retry_at`.
    Failed {
        state: JobState,
        retry_at: DateTime<Utc>,
        message: &'a str,
    },
    /// Deferred to `at` without counting the attempt.
    Deferred { at: DateTime<Utc>, message: &'a str },
    /// Given back at shutdown: due now, the attempt not counted.
    GivenBack,
}

/// Records how a claimed job's run ended and lets go of its lease, in a
/// transaction of its own, only while this worker still holds the job
/// (running, locked by `worker`; for a failure or deferral also still at
/// this attempt): a worker whose lease expired and was taken over changes
/// nothing. `false` when it no longer held the job.
async fn settle(
    db: &Database,
    company: &CompanyId,
    job: &Claimed,
    worker: &str,
    how: Settle<'_>,
) -> Result<bool, DbError> {
    let n = db
        .for_job(company, async |tc: &mut TenantConn<'_>| {
            let c = tc.company().as_str().to_string();
            let held = jobs::table
                .filter(jobs::company_id.eq(&c))
                .filter(jobs::id.eq(job.id))
                .filter(jobs::state.eq(JobState::Running.as_str()))
                .filter(jobs::locked_by.eq(worker));
            let this_attempt = jobs::attempts.eq(job.attempts);
            let n = match how {
                Settle::Failed {
                    state,
                    retry_at,
                    message,
                } => {
                    diesel::update(held.filter(this_attempt))
                        .set((
                            jobs::state.eq(state.as_str()),
                            jobs::run_at.eq(retry_at),
                            jobs::last_error.eq(message),
                            unlocked(),
                        ))
                        .execute(tc.conn())
                        .await?
                }
                Settle::Deferred { at, message } => {
                    diesel::update(held.filter(this_attempt))
                        .set((
                            jobs::state.eq(JobState::Queued.as_str()),
                            jobs::attempts.eq((job.attempts - 1).max(0)),
                            jobs::run_at.eq(at),
                            jobs::last_error.eq(message),
                            unlocked(),
                        ))
                        .execute(tc.conn())
                        .await?
                }
                Settle::GivenBack => {
                    diesel::update(held)
                        .set((
                            jobs::state.eq(JobState::Queued.as_str()),
                            jobs::attempts.eq(jobs::attempts - 1),
                            jobs::run_at.eq(now),
                            unlocked(),
                        ))
                        .execute(tc.conn())
                        .await?
                }
            };
            Ok(n)
        })
        .await?;
    Ok(n > 0)
}

type Unlocked = (
    diesel::dsl::Eq<jobs::locked_by, Option<String>>,
    diesel::dsl::Eq<jobs::locked_at, Option<DateTime<Utc>>>,
    diesel::dsl::Eq<jobs::lock_expires_at, Option<DateTime<Utc>>>,
    diesel::dsl::Eq<jobs::updated_at, now>,
);

/// The lease let go (no worker, no lock times), touched now: part of
/// every change that ends a run.
fn unlocked() -> Unlocked {
    (
        jobs::locked_by.eq(None::<String>),
        jobs::locked_at.eq(None::<DateTime<Utc>>),
        jobs::lock_expires_at.eq(None::<DateTime<Utc>>),
        jobs::updated_at.eq(now),
    )
}

/// A job as the page shows it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = jobs, check_for_backend(diesel::pg::Pg))]
pub struct JobRow {
    pub id: Uuid,
    pub kind: String,
    pub job_key: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// This company's open jobs (queued, running, failed, dead): dead and
/// failed first, then by next run; at most `limit`.
pub async fn list_open(tc: &mut TenantConn<'_>, limit: i64) -> Result<Vec<JobRow>, DbError> {
    let c = tc.company().as_str().to_string();
    let mut rows: Vec<JobRow> = jobs::table
        .filter(jobs::company_id.eq(&c))
        .filter(jobs::state.eq_any(["queued", "running", "failed", "dead"]))
        .order(jobs::run_at.asc())
        .limit(limit)
        .select(JobRow::as_select())
        .load(tc.conn())
        .await?;
    let rank = |s: &str| match s {
        "dead" => 0,
        "failed" => 1,
        "running" => 2,
        _ => 3,
    };
    rows.sort_by_key(|r| rank(&r.state));
    Ok(rows)
}

/// One of this company's jobs by id, in any state.
pub async fn get(tc: &mut TenantConn<'_>, id: Uuid) -> Result<JobRow, DbError> {
    let c = tc.company().as_str().to_string();
    jobs::table
        .filter(jobs::company_id.eq(&c))
        .filter(jobs::id.eq(id))
        .select(JobRow::as_select())
        .get_result(tc.conn())
        .await
        .optional()?
        .ok_or(DbError::NotFound)
}

/// One of this company's jobs by key, in any state.
pub async fn by_key(tc: &mut TenantConn<'_>, key: &str) -> Result<Option<JobRow>, DbError> {
    let c = tc.company().as_str().to_string();
    Ok(jobs::table
        .filter(jobs::company_id.eq(&c))
        .filter(jobs::job_key.eq(key))
        .select(JobRow::as_select())
        .get_result(tc.conn())
        .await
        .optional()?)
}

/// "Retry now": a failed or dead job is due at once with a fresh set of
/// attempts; audited (`jobs.retried`). `NotFound` for a job that is not
/// this company's, or not failed or dead.
pub async fn retry_now(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    actor: Uuid,
    request_id: &str,
) -> Result<(), DbError> {
    let c = tc.company().as_str().to_string();
    let n = diesel::update(
        jobs::table
            .filter(jobs::company_id.eq(&c))
            .filter(jobs::id.eq(id))
            .filter(jobs::state.eq_any(["failed", "dead"])),
    )
    .set((
        jobs::state.eq(JobState::Queued.as_str()),
        jobs::attempts.eq(0),
        jobs::run_at.eq(now),
        jobs::updated_at.eq(now),
    ))
    .execute(tc.conn())
    .await?;
    audit_change(tc, n, id, actor, request_id, "jobs.retried").await
}

/// "Discard": a queued, failed or dead job will not run; its key stays
/// taken. Audited (`jobs.discarded`).
pub async fn discard(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    actor: Uuid,
    request_id: &str,
) -> Result<(), DbError> {
    let c = tc.company().as_str().to_string();
    let n = diesel::update(
        jobs::table
            .filter(jobs::company_id.eq(&c))
            .filter(jobs::id.eq(id))
            .filter(jobs::state.eq_any(["queued", "failed", "dead"])),
    )
    .set((
        jobs::state.eq(JobState::Discarded.as_str()),
        jobs::updated_at.eq(now),
    ))
    .execute(tc.conn())
    .await?;
    audit_change(tc, n, id, actor, request_id, "jobs.discarded").await
}

async fn audit_change(
    tc: &mut TenantConn<'_>,
    changed: usize,
    id: Uuid,
    actor: Uuid,
    request_id: &str,
    action: &str,
) -> Result<(), DbError> {
    if changed == 0 {
        return Err(DbError::NotFound);
    }
    let target = id.to_string();
    append(
        tc,
        &AuditEntry {
            actor_user_id: Some(actor),
            action,
            target_type: Some("job"),
            target_id: Some(&target),
            request_id: Some(request_id),
            reason: None,
        },
    )
    .await
}

/// How long a finished cron job's row is kept (its slot is long past, so
/// its key can never be enqueued again: the cron only enqueues the
/// current slot). The every-minute SLA sweep alone leaves 1,440 rows per
/// company per day, so the hourly retention sweep removes these.
pub const CRON_ROWS_KEPT: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Deletes this company's finished (`done`) cron jobs last updated before
/// `before`. Other keyed jobs keep their rows for good (their key is the
/// at-most-once guarantee, e.g. `invoice:{id}:issue`); dead, failed and
/// discarded cron jobs stay for a person to see. Returns the rows deleted.
pub async fn prune_finished_cron(
    tc: &mut TenantConn<'_>,
    before: DateTime<Utc>,
) -> Result<usize, DbError> {
    let c = tc.company().as_str().to_string();
    let n = diesel::delete(
        jobs::table
            .filter(jobs::company_id.eq(&c))
            .filter(jobs::state.eq("done"))
            .filter(jobs::job_key.like("cron:%"))
            .filter(jobs::updated_at.lt(before)),
    )
    .execute(tc.conn())
    .await?;
    Ok(n)
}
