//! The sweep's batches: each deletes at most [`super::BATCH`] rows of one
//! class whose period ended before the cutoff, inside the caller's bound
//! transaction, and returns how many went.

use chrono::{DateTime, Utc};
use diesel::dsl::{exists, not};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::BATCH;
use crate::schema::{
    consent_decisions, deals, forwards, notes, page_views, persons, tasks, visitors,
};
use crate::{DbError, TenantConn};

pub(super) async fn delete_page_views(
    tc: &mut TenantConn<'_>,
    cutoff: DateTime<Utc>,
) -> Result<i64, DbError> {
    let company = tc.company().as_str().to_string();
    let ids: Vec<Uuid> = page_views::table
        .filter(page_views::company_id.eq(&company))
        .filter(page_views::at.lt(cutoff))
        .select(page_views::id)
        .limit(BATCH)
        .load(tc.conn())
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let n = diesel::delete(
        page_views::table
            .filter(page_views::company_id.eq(&company))
            .filter(page_views::id.eq_any(&ids)),
    )
    .execute(tc.conn())
    .await?;
    Ok(n as i64)
}

/// Contacts (persons) not changed since the cutoff, with no deal, and no
/// note, task (open, created or done) or visit since the cutoff, and no
/// forward from one of their visitors (a forward's proof is kept, as for
/// visitors).
///
/// A contact goes as an erasure takes it: its visitors' consent decisions
/// stay as proof under a fresh random tombstone per contact (never
/// derived from the subject, so irreversible), exactly the column an
/// erasure fills, and its visitors go (their page views stay, unlinked,
/// until their own period ends). Without this the decisions stayed linked
/// to a visitor key of a person no longer on record, and the visitor
/// sweep later deleted that proof outright.
pub(super) async fn delete_contacts(
    tc: &mut TenantConn<'_>,
    cutoff: DateTime<Utc>,
) -> Result<i64, DbError> {
    let company = tc.company().as_str().to_string();
    let ids: Vec<Uuid> = persons::table
        .filter(persons::company_id.eq(&company))
        .filter(persons::updated_at.lt(cutoff))
        .filter(persons::created_at.lt(cutoff))
        .filter(not(exists(
            deals::table
                .filter(deals::company_id.eq(persons::company_id))
                .filter(deals::person_id.eq(persons::id.nullable())),
        )))
        .filter(not(exists(
            notes::table
                .filter(notes::company_id.eq(persons::company_id))
                .filter(notes::person_id.eq(persons::id.nullable()))
                .filter(notes::at.ge(cutoff)),
        )))
        .filter(not(exists(
            tasks::table
                .filter(tasks::company_id.eq(persons::company_id))
                .filter(tasks::person_id.eq(persons::id.nullable()))
                .filter(
                    tasks::done_at
                        .is_null()
                        .or(tasks::done_at.ge(cutoff))
                        .or(tasks::created_at.ge(cutoff)),
                ),
        )))
        .filter(not(exists(
            visitors::table
                .filter(visitors::company_id.eq(persons::company_id))
                .filter(visitors::person_id.eq(persons::id.nullable()))
                .filter(visitors::last_seen.ge(cutoff)),
        )))
        .filter(not(exists(
            visitors::table
                .filter(visitors::company_id.eq(persons::company_id))
                .filter(visitors::person_id.eq(persons::id.nullable()))
                .filter(exists(
                    forwards::table
                        .filter(forwards::company_id.eq(visitors::company_id))
                        .filter(forwards::visitor_id.eq(visitors::id)),
                )),
        )))
        .select(persons::id)
        .limit(BATCH)
        .load(tc.conn())
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    // Raw SQL: one tombstone per contact needs a volatile value per row of
    // the contact list (gen_random_uuid() in a subquery PostgreSQL does
    // not flatten); the tombstone-only trigger checks the update's shape.
    diesel::sql_query(
        "UPDATE consent_decisions c SET visitor_id = NULL, erased_subject = t.tombstone
         FROM (SELECT v.id AS visitor_id, p.tombstone
                 FROM visitors v
                 JOIN (SELECT id, gen_random_uuid() AS tombstone
                         FROM unnest($2::uuid[]) AS id) p ON v.person_id = p.id
                WHERE v.company_id = $1) t
         WHERE c.company_id = $1 AND c.visitor_id = t.visitor_id",
    )
    .bind::<diesel::sql_types::Text, _>(&company)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
    .execute(tc.conn())
    .await?;
    diesel::sql_query("DELETE FROM visitors WHERE company_id = $1 AND person_id = ANY($2)")
        .bind::<diesel::sql_types::Text, _>(&company)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
        .execute(tc.conn())
        .await?;
    let n = diesel::delete(
        persons::table
            .filter(persons::company_id.eq(&company))
            .filter(persons::id.eq_any(&ids)),
    )
    .execute(tc.conn())
    .await?;
    Ok(n as i64)
}

/// The visitors with nothing left to prove (see the module docs).
pub(super) fn sweepable_visitors(
    company: &str,
    cutoff: DateTime<Utc>,
) -> visitors::BoxedQuery<'_, Pg, diesel::sql_types::Uuid> {
    visitors::table
        .filter(visitors::company_id.eq(company))
        .filter(visitors::person_id.is_null())
        .filter(
            not(visitors::analytics
                .or(visitors::identification)
                .or(visitors::marketing))
            .or(visitors::last_seen.lt(cutoff)),
        )
        .filter(not(exists(
            page_views::table
                .filter(page_views::company_id.eq(visitors::company_id))
                .filter(page_views::visitor_id.eq(visitors::id.nullable())),
        )))
        .filter(not(exists(
            forwards::table
                .filter(forwards::company_id.eq(visitors::company_id))
                .filter(forwards::visitor_id.eq(visitors::id)),
        )))
        .select(visitors::id)
        .into_boxed()
}

pub(super) async fn delete_consent_decisions(
    tc: &mut TenantConn<'_>,
    cutoff: DateTime<Utc>,
) -> Result<i64, DbError> {
    let company = tc.company().as_str().to_string();
    let ids: Vec<i64> = consent_decisions::table
        .filter(consent_decisions::company_id.eq(&company))
        .filter(
            consent_decisions::visitor_id
                .assume_not_null()
                .eq_any(sweepable_visitors(&company, cutoff)),
        )
        .select(consent_decisions::id)
        .limit(BATCH)
        .load(tc.conn())
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let n = diesel::delete(
        consent_decisions::table
            .filter(consent_decisions::company_id.eq(&company))
            .filter(consent_decisions::id.eq_any(&ids)),
    )
    .execute(tc.conn())
    .await?;
    Ok(n as i64)
}

pub(super) async fn delete_visitors(
    tc: &mut TenantConn<'_>,
    cutoff: DateTime<Utc>,
) -> Result<i64, DbError> {
    let company = tc.company().as_str().to_string();
    let ids: Vec<Uuid> = sweepable_visitors(&company, cutoff)
        .filter(not(exists(
            consent_decisions::table
                .filter(consent_decisions::company_id.eq(visitors::company_id))
                .filter(consent_decisions::visitor_id.eq(visitors::id.nullable())),
        )))
        .limit(BATCH)
        .load(tc.conn())
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let n = diesel::delete(
        visitors::table
            .filter(visitors::company_id.eq(&company))
            .filter(visitors::id.eq_any(&ids)),
    )
    .execute(tc.conn())
    .await?;
    Ok(n as i64)
}
