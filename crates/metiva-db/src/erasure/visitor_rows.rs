//! The visitor part of an erasure, which a contact's and a visitor's
//! erasure share: the visitor rows, their page views (sealed IPs), their
//! forwards with the queued jobs that would send them, and their consent
//! decisions moved to the receipt's tombstone.
//!
//! # Security
//! - A forward's `forwards.send` job (key `forward:{id}`) that has not run
//!   yet is cancelled (state `discarded`) in the erasure's transaction, so
//!   nothing about the subject is sent after the erasure commits, and the
//!   receipt counts it (`jobs`). The job's payload is the forward's id
//!   only, never personal data.
//! - A send job running right now holds its own row lock: it is skipped
//!   (`SKIP LOCKED`, never waited for, so an erasure and a worker cannot
//!   deadlock on the forward and the job rows), and it finds its forward
//!   gone once the erasure commits (or, if it commits first, the forward
//!   it sent is erased with the rest).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::conversions::forwards::SEND;
use crate::schema::{consent_decisions, forwards, jobs, page_views, visitors};
use crate::{DbError, TenantConn};

/// What erasing a set of visitors removed and kept.
pub(super) struct VisitorRows {
    pub consent_kept: usize,
    pub forwards: usize,
    /// Queued (or retrying) send jobs of those forwards, cancelled.
    pub jobs_cancelled: usize,
    pub page_views: usize,
    pub visitors: usize,
}

/// Erases `visitor_ids` (row-locked by the caller) with their page views
/// (which hold the sealed, truncated IPs), their forwards (the captures'
/// lead events, and `person`'s when given) with their queued send jobs,
/// and moves their consent decisions to `tombstone`: the part of an
/// erasure every subject shares.
pub(super) async fn erase_visitor_rows(
    tc: &mut TenantConn<'_>,
    visitor_ids: &[Uuid],
    person: Option<Uuid>,
    tombstone: Uuid,
) -> Result<VisitorRows, DbError> {
    let company = tc.company().as_str().to_string();
    // Kept as proof, under the tombstone instead of the visitor.
    let consent_kept = diesel::update(
        consent_decisions::table
            .filter(consent_decisions::company_id.eq(&company))
            .filter(consent_decisions::visitor_id.eq_any(visitor_ids)),
    )
    .set((
        consent_decisions::visitor_id.eq(None::<Uuid>),
        consent_decisions::erased_subject.eq(Some(tombstone)),
    ))
    .execute(tc.conn())
    .await?;
    let forward_ids: Vec<Uuid> = match person {
        Some(p) => {
            diesel::delete(
                forwards::table
                    .filter(forwards::company_id.eq(&company))
                    .filter(
                        forwards::visitor_id
                            .eq_any(visitor_ids)
                            .or(forwards::person_id.eq(p)),
                    ),
            )
            .returning(forwards::id)
            .get_results(tc.conn())
            .await?
        }
        None => {
            diesel::delete(
                forwards::table
                    .filter(forwards::company_id.eq(&company))
                    .filter(forwards::visitor_id.eq_any(visitor_ids)),
            )
            .returning(forwards::id)
            .get_results(tc.conn())
            .await?
        }
    };
    let jobs_cancelled = cancel_send_jobs(tc, &forward_ids).await?;
    let page_views = diesel::delete(
        page_views::table
            .filter(page_views::company_id.eq(&company))
            .filter(page_views::visitor_id.eq_any(visitor_ids)),
    )
    .execute(tc.conn())
    .await?;
    let visitors = diesel::delete(
        visitors::table
            .filter(visitors::company_id.eq(&company))
            .filter(visitors::id.eq_any(visitor_ids)),
    )
    .execute(tc.conn())
    .await?;
    Ok(VisitorRows {
        consent_kept,
        forwards: forward_ids.len(),
        jobs_cancelled,
        page_views,
        visitors,
    })
}

/// Cancels the send jobs of `forward_ids` that have not run yet (queued,
/// or failed and waiting for a retry); a running one is skipped (see the
/// module docs). Answers how many were cancelled.
async fn cancel_send_jobs(tc: &mut TenantConn<'_>, forward_ids: &[Uuid]) -> Result<usize, DbError> {
    if forward_ids.is_empty() {
        return Ok(0);
    }
    let company = tc.company().as_str().to_string();
    let keys: Vec<String> = forward_ids.iter().map(|f| format!("forward:{f}")).collect();
    let open: Vec<Uuid> = jobs::table
        .filter(jobs::company_id.eq(&company))
        .filter(jobs::kind.eq(SEND.name))
        .filter(jobs::job_key.eq_any(&keys))
        .filter(jobs::state.eq_any(["queued", "failed"]))
        .select(jobs::id)
        .for_update()
        .skip_locked()
        .load(tc.conn())
        .await?;
    if open.is_empty() {
        return Ok(0);
    }
    Ok(diesel::update(
        jobs::table
            .filter(jobs::company_id.eq(&company))
            .filter(jobs::id.eq_any(&open)),
    )
    .set((
        jobs::state.eq("discarded"),
        jobs::last_error.eq(Some("cancelled: the subject was erased")),
        jobs::updated_at.eq(diesel::dsl::now),
    ))
    .execute(tc.conn())
    .await?)
}
