//! The circuit breaker per (workspace, provider), in the tenant table
//! `adapter_breakers` (migration `adapter_breakers`).
//!
//! - closed: calls go out. Each failed call (after its in-call retries)
//!   counts one consecutive failure; a success resets the count.
//! - open: after [`BreakerPolicy::failure_threshold`] consecutive
//!   failures. Calls return `CallError::Open { retry_at }` without
//!   touching the network until `retry_at` (= opened + cool-down, or the
//!   provider's longer `Retry-After`).
//! - half-open: the first call at or after `retry_at` is the probe (one
//!   at a time: it holds a lease `probe_until`; others are refused until
//!   it ends or the lease expires). The probe's success closes the
//!   breaker; its failure re-opens it for another cool-down.
//!
//! Every read and write is a short transaction of its own (never the
//! job's: a failing job rolls its own transaction back, which would erase
//! the failure the breaker must count), bound to the workspace under
//! forced RLS, with `SELECT … FOR UPDATE` so concurrent workers of every
//! instance serialise on the row and agree. Times come from the
//! [`super::Clock`].

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::Provider;
use crate::schema::adapter_breakers as ab;
use crate::{CompanyId, Database, DbError, TenantConn};

/// When a breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failed calls that open the breaker (default 5).
    pub failure_threshold: u32,
    /// How long it stays open before a probe (default 60 s).
    pub cool_down: Duration,
    /// How long a half-open probe holds its lease (default 30 s: longer
    /// than a call's 10 s timeout plus its in-call retries).
    pub probe_lease: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(60),
            probe_lease: Duration::from_secs(30),
        }
    }
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerPhase {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerPhase {
    pub const fn as_str(self) -> &'static str {
        match self {
            BreakerPhase::Closed => "closed",
            BreakerPhase::Open => "open",
            BreakerPhase::HalfOpen => "half_open",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "open" => BreakerPhase::Open,
            "half_open" => BreakerPhase::HalfOpen,
            _ => BreakerPhase::Closed,
        }
    }
}

/// A breaker as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerStatus {
    pub provider: Provider,
    pub phase: BreakerPhase,
    pub consecutive_failures: i32,
    pub opened_at: Option<DateTime<Utc>>,
    pub retry_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl BreakerStatus {
    fn closed(provider: Provider) -> Self {
        Self {
            provider,
            phase: BreakerPhase::Closed,
            consecutive_failures: 0,
            opened_at: None,
            retry_at: None,
            last_success_at: None,
            last_error_at: None,
            last_error: None,
        }
    }
}

#[derive(Queryable)]
struct Row {
    provider: String,
    state: String,
    consecutive_failures: i32,
    opened_at: Option<DateTime<Utc>>,
    retry_at: Option<DateTime<Utc>>,
    probe_until: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    last_error_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

type RowSelect = (
    ab::provider,
    ab::state,
    ab::consecutive_failures,
    ab::opened_at,
    ab::retry_at,
    ab::probe_until,
    ab::last_success_at,
    ab::last_error_at,
    ab::last_error,
);

const ROW: RowSelect = (
    ab::provider,
    ab::state,
    ab::consecutive_failures,
    ab::opened_at,
    ab::retry_at,
    ab::probe_until,
    ab::last_success_at,
    ab::last_error_at,
    ab::last_error,
);

impl Row {
    fn status(self) -> Option<BreakerStatus> {
        Some(BreakerStatus {
            provider: self.provider.parse().ok()?,
            phase: BreakerPhase::parse(&self.state),
            consecutive_failures: self.consecutive_failures,
            opened_at: self.opened_at,
            retry_at: self.retry_at,
            last_success_at: self.last_success_at,
            last_error_at: self.last_error_at,
            last_error: self.last_error,
        })
    }
}

/// Whether a call may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Closed: send, with the in-call retries.
    Go,
    /// Half-open: this call is the single probe (one attempt, no retries).
    Probe,
    /// Open (or another probe is out): not before this time.
    Refused(DateTime<Utc>),
}

/// How a call ended, for the breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// A 2xx.
    Success,
    /// The provider answered, but refused the request (4xx other than
    /// 408/429): it is up, so the failure count resets, and the error is
    /// kept for the page.
    Rejected(String),
    /// Unavailable (timeouts, 429, 5xx): counts a consecutive failure.
    /// The optional `Retry-After` keeps an opened breaker open at least
    /// that long.
    Failed(String, Option<Duration>),
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

async fn lock(tc: &mut TenantConn<'_>, provider: Provider) -> Result<Option<Row>, DbError> {
    let c = tc.company().as_str().to_string();
    Ok(ab::table
        .filter(ab::company_id.eq(&c))
        .filter(ab::provider.eq(provider.as_str()))
        .select(ROW)
        .for_update()
        .get_result(tc.conn())
        .await
        .optional()?)
}

/// Decides whether a call to `provider` may go out now; moves an open
/// breaker whose cool-down has passed to half-open and takes the probe.
pub(crate) async fn admit(
    db: &Database,
    company: &CompanyId,
    provider: Provider,
    policy: &BreakerPolicy,
    now: DateTime<Utc>,
) -> Result<Admit, DbError> {
    // The adapters are called from job handlers; the breaker's own short
    // transaction uses the job runner's named entry point (bound to the
    // job's company, forced RLS).
    db.for_job(company, async |tc: &mut TenantConn<'_>| {
        let Some(row) = lock(tc, provider).await? else {
            return Ok(Admit::Go);
        };
        let phase = BreakerPhase::parse(&row.state);
        let due = row.retry_at.unwrap_or(now);
        let probe_free = row.probe_until.is_none_or(|t| t <= now);
        match phase {
            BreakerPhase::Closed => return Ok(Admit::Go),
            BreakerPhase::Open if now < due => return Ok(Admit::Refused(due)),
            BreakerPhase::HalfOpen if !probe_free => {
                return Ok(Admit::Refused(row.probe_until.unwrap_or(now)));
            }
            // Cool-down over, or an abandoned probe's lease expired: this
            // call is the probe.
            BreakerPhase::Open | BreakerPhase::HalfOpen => {}
        }
        let c = tc.company().as_str().to_string();
        diesel::update(
            ab::table
                .filter(ab::company_id.eq(&c))
                .filter(ab::provider.eq(provider.as_str())),
        )
        .set((
            ab::state.eq(BreakerPhase::HalfOpen.as_str()),
            ab::probe_until.eq(Some(now + delta(policy.probe_lease))),
            ab::updated_at.eq(now),
        ))
        .execute(tc.conn())
        .await?;
        Ok(Admit::Probe)
    })
    .await
}

/// Records how a call ended (its own transaction).
pub(crate) async fn record(
    db: &Database,
    company: &CompanyId,
    provider: Provider,
    policy: &BreakerPolicy,
    now: DateTime<Utc>,
    report: &Report,
) -> Result<BreakerPhase, DbError> {
    db.for_job(company, async |tc: &mut TenantConn<'_>| {
        let c = tc.company().as_str().to_string();
        // The row exists from the first recorded call on; then lock it.
        diesel::insert_into(ab::table)
            .values((
                ab::company_id.eq(&c),
                ab::provider.eq(provider.as_str()),
                ab::updated_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(tc.conn())
            .await?;
        let row = lock(tc, provider).await?.ok_or(DbError::NotFound)?;
        let target = ab::table
            .filter(ab::company_id.eq(&c))
            .filter(ab::provider.eq(provider.as_str()));
        let closed = (
            ab::state.eq(BreakerPhase::Closed.as_str()),
            ab::consecutive_failures.eq(0),
            ab::opened_at.eq(None::<DateTime<Utc>>),
            ab::retry_at.eq(None::<DateTime<Utc>>),
            ab::probe_until.eq(None::<DateTime<Utc>>),
            ab::updated_at.eq(now),
        );
        match report {
            Report::Success => {
                diesel::update(target)
                    .set((closed, ab::last_success_at.eq(Some(now))))
                    .execute(tc.conn())
                    .await?;
                Ok(BreakerPhase::Closed)
            }
            Report::Rejected(msg) => {
                let msg: String = msg.chars().take(500).collect();
                diesel::update(target)
                    .set((
                        closed,
                        ab::last_error.eq(Some(msg)),
                        ab::last_error_at.eq(Some(now)),
                    ))
                    .execute(tc.conn())
                    .await?;
                Ok(BreakerPhase::Closed)
            }
            Report::Failed(msg, retry_after) => {
                let msg: String = msg.chars().take(500).collect();
                let failures = row.consecutive_failures.saturating_add(1);
                let phase = BreakerPhase::parse(&row.state);
                let threshold = i32::try_from(policy.failure_threshold.max(1)).unwrap_or(i32::MAX);
                // A failed probe re-opens at once; a closed breaker opens
                // at the threshold.
                let opens = phase != BreakerPhase::Closed || failures >= threshold;
                if opens {
                    let wait = retry_after.map_or(policy.cool_down, |ra| ra.max(policy.cool_down));
                    let opened_at = match phase {
                        BreakerPhase::Closed => now,
                        _ => row.opened_at.unwrap_or(now),
                    };
                    diesel::update(target)
                        .set((
                            ab::state.eq(BreakerPhase::Open.as_str()),
                            ab::consecutive_failures.eq(failures),
                            ab::opened_at.eq(Some(opened_at)),
                            ab::retry_at.eq(Some(now + delta(wait))),
                            ab::probe_until.eq(None::<DateTime<Utc>>),
                            ab::last_error.eq(Some(msg)),
                            ab::last_error_at.eq(Some(now)),
                            ab::updated_at.eq(now),
                        ))
                        .execute(tc.conn())
                        .await?;
                    Ok(BreakerPhase::Open)
                } else {
                    diesel::update(target)
                        .set((
                            ab::consecutive_failures.eq(failures),
                            ab::last_error.eq(Some(msg)),
                            ab::last_error_at.eq(Some(now)),
                            ab::updated_at.eq(now),
                        ))
                        .execute(tc.conn())
                        .await?;
                    Ok(BreakerPhase::Closed)
                }
            }
        }
    })
    .await
}

/// The bound workspace's breakers, one per provider (closed for a
/// provider never called), in [`Provider::ALL`] order.
pub async fn statuses(tc: &mut TenantConn<'_>) -> Result<Vec<BreakerStatus>, DbError> {
    let c = tc.company().as_str().to_string();
    let rows: Vec<Row> = ab::table
        .filter(ab::company_id.eq(&c))
        .select(ROW)
        .load(tc.conn())
        .await?;
    let found: Vec<BreakerStatus> = rows.into_iter().filter_map(Row::status).collect();
    Ok(Provider::ALL
        .into_iter()
        .map(|p| {
            found
                .iter()
                .find(|s| s.provider == p)
                .cloned()
                .unwrap_or_else(|| BreakerStatus::closed(p))
        })
        .collect())
}

/// One breaker of the bound workspace.
pub async fn status(tc: &mut TenantConn<'_>, provider: Provider) -> Result<BreakerStatus, DbError> {
    let c = tc.company().as_str().to_string();
    let row: Option<Row> = ab::table
        .filter(ab::company_id.eq(&c))
        .filter(ab::provider.eq(provider.as_str()))
        .select(ROW)
        .get_result(tc.conn())
        .await
        .optional()?;
    Ok(row
        .and_then(Row::status)
        .unwrap_or_else(|| BreakerStatus::closed(provider)))
}
