//! The audit log: append-only for the app role, ids only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::schema::audit_log;
use crate::{DbError, TenantConn};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub struct AuditRow {
    pub company_id: String,
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    /// Why, as a fixed code, where an action asks for one (an IP reveal,
    /// an erasure). Rows written before codes may hold free text.
    pub reason: Option<String>,
    /// The reason's optional short note (no personal data, by the form's
    /// instruction and the domain's check); swept with the row.
    pub note: Option<String>,
}

/// One entry. Holds ids, never names, emails or IPs.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry<'a> {
    pub actor_user_id: Option<Uuid>,
    pub action: &'a str,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub request_id: Option<&'a str>,
    /// Why, as a fixed code (lower case, digits, `_` and `.`; the table
    /// refuses anything else). A short free-text note goes to
    /// [`append_with_note`].
    pub reason: Option<&'a str>,
}

/// Appends in the caller's transaction, so the audit row commits (or not)
/// together with the change it records.
pub async fn append(tc: &mut TenantConn<'_>, e: &AuditEntry<'_>) -> Result<(), DbError> {
    append_with_note(tc, e, None).await
}

/// [`append`] with the reason's short note (at most 200 characters, no
/// personal data: the caller checks it; the table caps it).
pub async fn append_with_note(
    tc: &mut TenantConn<'_>,
    e: &AuditEntry<'_>,
    note: Option<&str>,
) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::company_id.eq(company),
            audit_log::actor_user_id.eq(e.actor_user_id),
            audit_log::action.eq(e.action),
            audit_log::target_type.eq(e.target_type),
            audit_log::target_id.eq(e.target_id),
            audit_log::request_id.eq(e.request_id),
            audit_log::reason.eq(e.reason),
            audit_log::note.eq(note),
        ))
        .execute(tc.conn())
        .await?;
    Ok(())
}

pub async fn list(tc: &mut TenantConn<'_>, limit: i64) -> Result<Vec<AuditRow>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(audit_log::table
        .filter(audit_log::company_id.eq(company))
        .order(audit_log::id.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(tc.conn())
        .await?)
}

/// The newest row with exactly this action (the action index answers it).
pub async fn latest(tc: &mut TenantConn<'_>, action: &str) -> Result<Option<AuditRow>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(audit_log::table
        .filter(audit_log::company_id.eq(company))
        .filter(audit_log::action.eq(action))
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .limit(1)
        .select(AuditRow::as_select())
        .first(tc.conn())
        .await
        .optional()?)
}

/// Which audit rows to read: newest first, optionally before an id
/// (keyset pagination), filtered by action prefix and actor.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter<'a> {
    /// `member.` matches every member action; `auth.sign_in` just that one.
    pub action: Option<&'a str>,
    pub actor: Option<Uuid>,
    pub before: Option<i64>,
    pub limit: i64,
}

pub async fn search(
    tc: &mut TenantConn<'_>,
    f: &AuditFilter<'_>,
) -> Result<Vec<AuditRow>, DbError> {
    let company = tc.company().as_str().to_string();
    let mut q = audit_log::table
        .filter(audit_log::company_id.eq(company))
        .into_boxed();
    if let Some(a) = f.action.filter(|a| !a.is_empty()) {
        // A prefix match on the dotted action name; LIKE wildcards in the
        // input are escaped so they match literally.
        let escaped = a
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q = q.filter(audit_log::action.like(format!("{escaped}%")));
    }
    if let Some(actor) = f.actor {
        q = q.filter(audit_log::actor_user_id.eq(actor));
    }
    if let Some(before) = f.before {
        q = q.filter(audit_log::id.lt(before));
    }
    Ok(q.order(audit_log::id.desc())
        .limit(f.limit.clamp(1, 10_000))
        .select(AuditRow::as_select())
        .load(tc.conn())
        .await?)
}
