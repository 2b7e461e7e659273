//! The CRM workspace: organisations and contacts agency staff edit.
//!
//! Every write validates first (no SQL for bad input), runs in the
//! request's own bound transaction with an explicit `company_id` filter
//! beside RLS, and uses optimistic concurrency: the caller names the
//! version it read, and a stale one changes nothing (409, no lost update).
//! Deletes are audited with ids only.

mod board;
pub mod contacts;
pub mod deal_list;
pub mod deals;
pub mod import;
pub mod organisations;
pub mod pipeline;
pub mod search;
pub mod sla;
pub mod tasks;
pub mod validate;

use diesel::dsl::exists;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::schema::{memberships, organisations as orgs};
use crate::{DbError, TenantConn};
pub use validate::FieldError;

/// Why a CRM write was refused.
#[derive(Debug)]
pub enum CrmError {
    /// Fields failed validation (422, each named).
    Invalid(Vec<FieldError>),
    /// No such record in this workspace (404; another workspace's id too).
    NotFound,
    /// The record changed since the caller read it (409: reload).
    Stale,
    /// Billing records (retainers, invoices) refer to the organisation,
    /// which is therefore kept (409): invoices are fiscal records.
    HasBilling,
    Db(DbError),
}

impl From<DbError> for CrmError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => CrmError::NotFound,
            other => CrmError::Db(other),
        }
    }
}

impl From<diesel::result::Error> for CrmError {
    fn from(e: diesel::result::Error) -> Self {
        CrmError::from(DbError::from(e))
    }
}

impl CrmError {
    pub(crate) fn field(field: &'static str, code: &'static str) -> Self {
        CrmError::Invalid(vec![FieldError { field, code }])
    }
}

/// Hands a CRM outcome back out of a bound transaction. A database
/// failure becomes the closure's error, so the transaction rolls back
/// (nothing half-written commits); a refusal (invalid, missing, stale)
/// wrote nothing and passes through as a value.
pub(crate) fn split<T>(r: Result<T, CrmError>) -> Result<Result<T, CrmError>, DbError> {
    match r {
        Err(CrmError::Db(e)) => Err(e),
        other => Ok(other),
    }
}

/// A uuid typed into a form (an owner or an organisation picked from a
/// list); empty is none.
pub fn parse_ref(c: &mut validate::Check, field: &'static str, raw: Option<&str>) -> Option<Uuid> {
    let v = validate::optional(raw)?;
    match Uuid::parse_str(&v) {
        Ok(id) => Some(id),
        Err(_) => {
            c.fail(field, "unknown");
            None
        }
    }
}

/// A member picked in `field` (an owner, an assignee) must belong to this
/// workspace (the composite foreign key says so too; this names the field
/// instead of failing the statement).
async fn check_member(
    tc: &mut TenantConn<'_>,
    field: &'static str,
    member: Option<Uuid>,
) -> Result<(), CrmError> {
    let Some(member) = member else { return Ok(()) };
    let company = tc.company().as_str().to_string();
    let found: bool = diesel::select(exists(
        memberships::table
            .filter(memberships::company_id.eq(&company))
            .filter(memberships::user_id.eq(member)),
    ))
    .get_result(tc.conn())
    .await?;
    if found {
        Ok(())
    } else {
        Err(CrmError::field(field, "unknown"))
    }
}

/// The organisation's name, if it exists in this workspace.
async fn organisation_name(
    tc: &mut TenantConn<'_>,
    id: Option<Uuid>,
) -> Result<Option<String>, CrmError> {
    let Some(id) = id else { return Ok(None) };
    let company = tc.company().as_str().to_string();
    let name: Option<String> = orgs::table
        .filter(orgs::company_id.eq(&company))
        .filter(orgs::id.eq(id))
        .select(orgs::name)
        .first(tc.conn())
        .await
        .optional()?;
    match name {
        Some(n) => Ok(Some(n)),
        None => Err(CrmError::field("organisation", "unknown")),
    }
}

/// Audits a CRM change, ids only, in the change's own transaction.
pub(crate) async fn audit(
    tc: &mut TenantConn<'_>,
    actor: Uuid,
    action: &str,
    target_type: &str,
    id: Uuid,
    request_id: &str,
) -> Result<(), DbError> {
    crate::repo::audit::append(
        tc,
        &crate::repo::audit::AuditEntry {
            actor_user_id: Some(actor),
            action,
            target_type: Some(target_type),
            target_id: Some(&id.to_string()),
            request_id: Some(request_id),
            reason: None,
        },
    )
    .await
}

/// After an update or delete matched no row: the record is either gone
/// (404) or at another version than the caller read (409).
fn stale_or_missing(still_there: bool) -> CrmError {
    if still_there {
        CrmError::Stale
    } else {
        CrmError::NotFound
    }
}

impl crate::Database {
    /// What the CRM forms offer to choose from, in one snapshot: the
    /// workspace's active members (as owners) and its organisations, by
    /// name.
    #[allow(clippy::type_complexity)]
    pub async fn crm_choices(
        &self,
        ctx: &crate::TenantCtx,
    ) -> Result<(Vec<(Uuid, String)>, Vec<(Uuid, String)>), DbError> {
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let members = active_members(tc).await?;
            let organisations: Vec<(Uuid, String)> = orgs::table
                .filter(orgs::company_id.eq(&company))
                .order(orgs::name.asc())
                .limit(organisations::LIST_LIMIT)
                .select((orgs::id, orgs::name))
                .load(tc.conn())
                .await?;
            Ok((members, organisations))
        })
        .await
    }

    /// The deal forms' pickers in one snapshot: members, organisations and
    /// contacts (id and name only). Callers load them only for a role that
    /// sees the form.
    pub async fn deal_pickers(&self, ctx: &crate::TenantCtx) -> Result<DealPickers, DbError> {
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let members = active_members(tc).await?;
            let organisations = orgs::table
                .filter(orgs::company_id.eq(&company))
                .order(orgs::name.asc())
                .limit(organisations::LIST_LIMIT)
                .select((orgs::id, orgs::name))
                .load(tc.conn())
                .await?;
            let contacts = contact_choices(tc).await?;
            Ok(DealPickers {
                members,
                organisations,
                contacts,
            })
        })
        .await
    }
}

/// What the deal forms offer to choose from (id, name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealPickers {
    pub members: Vec<(Uuid, String)>,
    pub organisations: Vec<(Uuid, String)>,
    pub contacts: Vec<(Uuid, String)>,
}

/// The workspace's active members (id, name), by name: the owner and
/// assignee pickers and the note authors. In the caller's transaction, so
/// a page reads them in the same round trips as its records.
pub(crate) async fn active_members(
    tc: &mut TenantConn<'_>,
) -> Result<Vec<(Uuid, String)>, DbError> {
    use crate::schema::users;
    let company = tc.company().as_str().to_string();
    Ok(memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::company_id.eq(&company))
        .filter(memberships::status.eq("active"))
        .order(users::name.asc())
        .select((memberships::user_id, users::name))
        .load(tc.conn())
        .await?)
}

/// The contact picker (id, name), by name, at most
/// [`organisations::LIST_LIMIT`]: only the two columns, with none of the
/// person list's per-row counts.
pub(crate) async fn contact_choices(
    tc: &mut TenantConn<'_>,
) -> Result<Vec<(Uuid, String)>, DbError> {
    use crate::schema::persons;
    let company = tc.company().as_str().to_string();
    Ok(persons::table
        .filter(persons::company_id.eq(&company))
        .order((persons::name.asc(), persons::id.asc()))
        .limit(organisations::LIST_LIMIT)
        .select((persons::id, persons::name))
        .load(tc.conn())
        .await?)
}
