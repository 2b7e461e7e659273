//! The daily audit-chain verify (issue 16): the cron schedule
//! `audit-chain-verify` (`jobs::SCHEDULES`) enqueues one
//! [`CHAIN_VERIFY`] job per company per day; its handler walks that
//! company's chain ([`crate::audit_chain::walk_chain`]) and records the
//! result in `audit_chain_checks` (migration `audit_checks`). The security
//! page shows the latest check ("audit chain verified at …", or the break).
//!
//! # Anchoring
//! Each intact check records the head it verified (`head_seq`,
//! `head_hash`). The next check, and `metiva audit verify`, hold the chain
//! against the latest intact one: the row at that `seq` must still carry
//! that hash, and the chain must still reach it. So rows cut off the end
//! ([`Break::Truncated`](crate::audit_chain::Break::Truncated)) and a chain
//! rewritten consistently up to the old head
//! ([`Break::Rewritten`](crate::audit_chain::Break::Rewritten)) are
//! caught, which the hash chain alone cannot see.
//!
//! # Security
//! - The job reads the chain on its own transaction, bound to the job's
//!   company (`Database::for_job`): the app role under forced RLS, which
//!   may read `audit_log` and append to `audit_chain_checks`, never change
//!   or delete a check (grants in the migration).
//! - A broken chain is recorded (and shown on the security page), not
//!   retried: it is a finding, not a fault. A fault (the database away)
//!   is retried.
//! - What is stored and shown is counts, a seq, a row id, a hash and a
//!   fixed reason code: never a row's content.
//! - The anchor is in the same database: an administrator who rewrites
//!   both the chain and the checks escapes it (noted in the migration).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use metiva_security::cipher::KeyRing;

use crate::access::TenantCtx;
use crate::audit_chain::{Anchor, Break, ChainReport, walk_chain};
use crate::jobs::{Backoff, BoxFuture, Handler, JobError, JobInfo, JobKind};
use crate::retention::LastSweep;
use crate::schema::audit_chain_checks as checks;
use crate::{Database, DbError, TenantConn};

/// The daily verify's job kind: three tries (a fault only; a broken chain
/// is a recorded result), then dead on `/settings/jobs`.
pub const CHAIN_VERIFY: JobKind = JobKind {
    name: "audit.chain_verify",
    max_attempts: 3,
    backoff: Backoff::DEFAULT,
};

/// The latest check, as the security page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCheck {
    pub checked_at: DateTime<Utc>,
    pub rows_checked: i64,
    pub ok: bool,
    /// The first broken row's `seq` (a break only).
    pub broken_seq: Option<i64>,
    /// The break's fixed code ([`Break::code`]).
    pub broken_kind: Option<String>,
}

/// The latest intact check's head, the anchor the next walk is held
/// against; `None` before the first intact check.
pub async fn anchor(tc: &mut TenantConn<'_>) -> Result<Option<Anchor>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<(i64, Vec<u8>)> = checks::table
        .filter(checks::company_id.eq(&company))
        .filter(checks::ok.eq(true))
        .filter(checks::head_seq.gt(0))
        .order(checks::checked_at.desc())
        .select((checks::head_seq, checks::head_hash))
        .first(tc.conn())
        .await
        .optional()?;
    match row {
        None => Ok(None),
        Some((seq, hash)) => {
            // The table's CHECK keeps it 32 bytes; anything else is a
            // tampered anchor, and verifying against nothing would hide
            // that: fail closed.
            let hash: [u8; 32] = hash.try_into().map_err(|_| {
                DbError::Internal("audit_chain_checks: head_hash is not 32 bytes".into())
            })?;
            Ok(Some(Anchor { seq, hash }))
        }
    }
}

/// The head a report verified: the rows that held, and the last one's
/// hash. A break found by a step (gap, altered, unlinked) was counted in
/// `rows` but did not move the head.
/// Rows removed by retention count too: the head is a `seq`.
fn verified_head(report: &ChainReport) -> i64 {
    let rows = i64::try_from(report.rows).unwrap_or(i64::MAX);
    let rows = match report.broken.as_ref().map(|b| b.why) {
        Some(Break::Gap { .. } | Break::Altered | Break::Unlinked) => (rows - 1).max(0),
        _ => rows,
    };
    report.cut.saturating_add(rows)
}

/// Walks the bound company's chain against the latest intact check and
/// records the result, in `tc`'s transaction. Answers the report. `keys`
/// verify the retention checkpoints (the DEK loaded when there are any).
pub async fn verify_and_record(
    tc: &mut TenantConn<'_>,
    keys: &KeyRing,
) -> Result<ChainReport, DbError> {
    let anchor = anchor(tc).await?;
    let report = walk_chain(tc, anchor, keys).await?;
    let company = tc.company().as_str().to_string();
    let broken = report.broken.as_ref();
    diesel::insert_into(checks::table)
        .values((
            checks::company_id.eq(&company),
            checks::rows_checked.eq(i64::try_from(report.rows).unwrap_or(i64::MAX)),
            checks::head_seq.eq(verified_head(&report)),
            checks::head_hash.eq(report.head.to_vec()),
            checks::ok.eq(broken.is_none()),
            checks::broken_id.eq(broken.map(|b| b.id).filter(|id| *id != 0)),
            checks::broken_seq.eq(broken.map(|b| b.seq)),
            checks::broken_kind.eq(broken.map(|b| b.why.code())),
        ))
        .execute(tc.conn())
        .await?;
    Ok(report)
}

/// The last retention sweep, the last chain check, the last self-test.
pub type Upkeep = (
    Option<LastSweep>,
    Option<LastCheck>,
    Option<(DateTime<Utc>, String)>,
);

/// `checked_at`, `rows_checked`, `ok`, `broken_seq`, `broken_kind`.
type CheckRow = (DateTime<Utc>, i64, bool, Option<i64>, Option<String>);

/// The bound company's latest check.
pub async fn last_check_of(tc: &mut TenantConn<'_>) -> Result<Option<LastCheck>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<CheckRow> = checks::table
        .filter(checks::company_id.eq(&company))
        .order(checks::checked_at.desc())
        .select((
            checks::checked_at,
            checks::rows_checked,
            checks::ok,
            checks::broken_seq,
            checks::broken_kind,
        ))
        .first(tc.conn())
        .await
        .optional()?;
    Ok(row.map(
        |(checked_at, rows_checked, ok, broken_seq, broken_kind)| LastCheck {
            checked_at,
            rows_checked,
            ok,
            broken_seq,
            broken_kind,
        },
    ))
}

impl Database {
    /// What the security page shows of privacy upkeep: the last retention
    /// sweep, the last audit-chain check and the last self-test (its time
    /// and outcome), in one read transaction. The master-sealed count is
    /// not here: it is cached ([`Database::master_sealed_status`]).
    pub async fn upkeep_status(&self, ctx: &TenantCtx) -> Result<Upkeep, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            Ok((
                crate::retention::last_sweep_of(tc).await?,
                last_check_of(tc).await?,
                crate::self_test::last_self_test_of(tc).await?,
            ))
        })
        .await
    }
}

/// The handler for [`CHAIN_VERIFY`]: verifies and records the job's
/// company's chain in the job's own transaction, its retention
/// checkpoints with the company's DEK.
pub struct ChainVerifyJob {
    db: Database,
    keys: Arc<KeyRing>,
}

impl ChainVerifyJob {
    pub fn new(db: Database, keys: Arc<KeyRing>) -> Self {
        Self { db, keys }
    }
}

impl Handler for ChainVerifyJob {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            // The result, a break included, is the recorded row; only a
            // fault fails the job.
            let fault = |e: DbError| {
                JobError::retry(format!(
                    "audit chain verify of {}: {e}",
                    job.company.as_str()
                ))
            };
            // On the pool's own connection, before the walk reads.
            self.db
                .load_checkpoint_key(&self.keys, &job.company)
                .await
                .map_err(fault)?;
            let _report = verify_and_record(tc, &self.keys).await.map_err(fault)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompanyId;
    use crate::audit_chain::BrokenRow;

    fn report(rows: u64, why: Option<Break>) -> ChainReport {
        ChainReport {
            company: CompanyId::parse("cmp_aaaaaa").unwrap_or_else(|e| panic!("{e}")),
            rows,
            cut: 0,
            head: [7; 32],
            broken: why.map(|why| BrokenRow { id: 9, seq: 5, why }),
        }
    }

    #[test]
    fn the_verified_head_leaves_out_a_row_that_broke_a_step() {
        assert_eq!(verified_head(&report(5, None)), 5);
        assert_eq!(verified_head(&report(5, Some(Break::Altered))), 4);
        assert_eq!(verified_head(&report(5, Some(Break::Unlinked))), 4);
        assert_eq!(
            verified_head(&report(5, Some(Break::Gap { expected_seq: 4 }))),
            4
        );
        assert_eq!(verified_head(&report(5, Some(Break::Rewritten))), 5);
        assert_eq!(
            verified_head(&report(3, Some(Break::Truncated { rows_now: 3 }))),
            3
        );
        assert_eq!(verified_head(&report(0, Some(Break::Altered))), 0);
        // After retention removed seq 1..=100, the head is still a seq.
        let cut = ChainReport {
            cut: 100,
            ..report(5, None)
        };
        assert_eq!(verified_head(&cut), 105);
    }

    #[test]
    fn the_verify_is_daily_in_the_cron() {
        let cron = crate::jobs::SCHEDULES
            .iter()
            .find(|c| c.kind == CHAIN_VERIFY.name);
        assert!(
            matches!(cron.map(|c| c.at), Some(crate::jobs::At::Daily { .. })),
            "{cron:?}"
        );
    }
}
