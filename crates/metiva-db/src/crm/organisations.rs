//! Organisations: the client's customers and prospects.

use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, exists, now};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::validate::{self, Check, FieldError, MAX_NOTES};
use super::{CrmError, check_member, parse_ref, stale_or_missing};
use crate::access::TenantCtx;
use crate::schema::{organisations as orgs, persons};
use crate::{Database, DbError, TenantConn};

/// An organisation form as typed (every field text, as a browser posts it).
#[derive(Debug, Clone, Default)]
pub struct OrganisationForm<'a> {
    pub name: &'a str,
    pub domain: Option<&'a str>,
    pub kvk: Option<&'a str>,
    pub vat: Option<&'a str>,
    pub address: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub notes: Option<&'a str>,
}

/// Validated fields, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationFields {
    pub name: String,
    pub domain: Option<String>,
    pub kvk: Option<String>,
    pub vat: Option<String>,
    pub address: Option<String>,
    pub owner_user_id: Option<Uuid>,
    pub notes: Option<String>,
}

impl OrganisationForm<'_> {
    /// Checks every field and reports all failures at once.
    pub fn validate(&self) -> Result<OrganisationFields, Vec<FieldError>> {
        let mut c = Check::default();
        let fields = OrganisationFields {
            name: validate::name(&mut c, "name", self.name),
            domain: validate::domain(&mut c, self.domain),
            kvk: validate::kvk(&mut c, self.kvk),
            vat: validate::vat(&mut c, self.vat),
            address: validate::text(&mut c, "address", self.address, 500),
            owner_user_id: parse_ref(&mut c, "owner", self.owner),
            notes: validate::text(&mut c, "notes", self.notes, MAX_NOTES),
        };
        c.finish(fields)
    }
}

/// One organisation as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = orgs, check_for_backend(diesel::pg::Pg))]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub kvk: Option<String>,
    pub vat: Option<String>,
    pub address: Option<String>,
    pub owner_user_id: Option<Uuid>,
    pub notes: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A row of the organisations list: the organisation and its contacts.
#[derive(Debug, Clone, PartialEq)]
pub struct OrganisationSummary {
    pub organisation: Organisation,
    pub contacts: i64,
}

/// A contact shown on its organisation's page.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct OrganisationContact {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
}

/// The most organisations one list shows.
pub const LIST_LIMIT: i64 = 500;

impl Database {
    /// The workspace's organisations by name, with how many contacts each
    /// has; one consistent snapshot.
    pub async fn organisation_list(
        &self,
        ctx: &TenantCtx,
    ) -> Result<Vec<OrganisationSummary>, DbError> {
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let list: Vec<Organisation> = orgs::table
                .filter(orgs::company_id.eq(&company))
                .order((orgs::name.asc(), orgs::id.asc()))
                .limit(LIST_LIMIT)
                .select(Organisation::as_select())
                .load(tc.conn())
                .await?;
            let counts: Vec<(Option<Uuid>, i64)> = persons::table
                .filter(persons::company_id.eq(&company))
                .filter(persons::organisation_id.is_not_null())
                .group_by(persons::organisation_id)
                .select((persons::organisation_id, count_star()))
                .load(tc.conn())
                .await?;
            Ok(list
                .into_iter()
                .map(|o| OrganisationSummary {
                    contacts: counts
                        .iter()
                        .find(|(id, _)| *id == Some(o.id))
                        .map_or(0, |(_, n)| *n),
                    organisation: o,
                })
                .collect())
        })
        .await
    }

    /// One organisation and its contacts; `None` when it is not in this
    /// workspace (the caller answers 404, the same for missing and foreign).
    pub async fn organisation_record(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<(Organisation, Vec<OrganisationContact>)>, DbError> {
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let Some(o) = orgs::table
                .filter(orgs::company_id.eq(&company))
                .filter(orgs::id.eq(id))
                .select(Organisation::as_select())
                .first::<Organisation>(tc.conn())
                .await
                .optional()?
            else {
                return Ok(None);
            };
            let contacts = persons::table
                .filter(persons::company_id.eq(&company))
                .filter(persons::organisation_id.eq(id))
                .order(persons::name.asc())
                .limit(LIST_LIMIT)
                .select((persons::id, persons::name, persons::email))
                .load(tc.conn())
                .await?;
            Ok(Some((o, contacts)))
        })
        .await
    }

    /// Creates an organisation; returns its id.
    pub async fn create_organisation(
        &self,
        ctx: &TenantCtx,
        f: &OrganisationFields,
        request_id: &str,
    ) -> Result<Uuid, CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            super::split(create(tc, f, actor, request_id).await)
        })
        .await?
    }

    /// Saves an edit made to `version`; returns the new version.
    pub async fn update_organisation(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        version: i32,
        f: &OrganisationFields,
    ) -> Result<i32, CrmError> {
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            super::split(update(tc, id, version, f).await)
        })
        .await?
    }

    /// Deletes the organisation at `version` (its contacts stay, unlinked),
    /// audited.
    pub async fn delete_organisation(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        version: i32,
        request_id: &str,
    ) -> Result<(), CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            super::split(delete(tc, id, version, actor, request_id).await)
        })
        .await?
    }
}

/// A unique clash on the domain is the domain field's problem.
fn domain_taken(e: DbError) -> CrmError {
    match e {
        DbError::Conflict { constraint } if constraint == "organisations_domain_key" => {
            CrmError::field("domain", "domain.taken")
        }
        other => CrmError::from(other),
    }
}

async fn create(
    tc: &mut TenantConn<'_>,
    f: &OrganisationFields,
    actor: Uuid,
    request_id: &str,
) -> Result<Uuid, CrmError> {
    check_member(tc, "owner", f.owner_user_id).await?;
    let company = tc.company().as_str().to_string();
    let id: Uuid = diesel::insert_into(orgs::table)
        .values((
            orgs::company_id.eq(&company),
            orgs::name.eq(&f.name),
            orgs::domain.eq(&f.domain),
            orgs::kvk.eq(&f.kvk),
            orgs::vat.eq(&f.vat),
            orgs::address.eq(&f.address),
            orgs::owner_user_id.eq(f.owner_user_id),
            orgs::notes.eq(&f.notes),
        ))
        .returning(orgs::id)
        .get_result(tc.conn())
        .await
        .map_err(|e| domain_taken(e.into()))?;
    super::audit(
        tc,
        actor,
        "crm.organisation_created",
        "organisation",
        id,
        request_id,
    )
    .await?;
    Ok(id)
}

async fn still_there(tc: &mut TenantConn<'_>, id: Uuid) -> Result<bool, CrmError> {
    let company = tc.company().as_str().to_string();
    Ok(diesel::select(exists(
        orgs::table
            .filter(orgs::company_id.eq(&company))
            .filter(orgs::id.eq(id)),
    ))
    .get_result(tc.conn())
    .await?)
}

async fn update(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    version: i32,
    f: &OrganisationFields,
) -> Result<i32, CrmError> {
    check_member(tc, "owner", f.owner_user_id).await?;
    let company = tc.company().as_str().to_string();
    let saved: Option<i32> = diesel::update(
        orgs::table
            .filter(orgs::company_id.eq(&company))
            .filter(orgs::id.eq(id))
            .filter(orgs::version.eq(version)),
    )
    .set((
        orgs::name.eq(&f.name),
        orgs::domain.eq(&f.domain),
        orgs::kvk.eq(&f.kvk),
        orgs::vat.eq(&f.vat),
        orgs::address.eq(&f.address),
        orgs::owner_user_id.eq(f.owner_user_id),
        orgs::notes.eq(&f.notes),
        orgs::version.eq(orgs::version + 1),
        orgs::updated_at.eq(now.into_sql::<Timestamptz>()),
    ))
    .returning(orgs::version)
    .get_result(tc.conn())
    .await
    .optional()
    .map_err(|e| domain_taken(e.into()))?;
    match saved {
        Some(v) => Ok(v),
        None => Err(stale_or_missing(still_there(tc, id).await?)),
    }
}

async fn delete(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    version: i32,
    actor: Uuid,
    request_id: &str,
) -> Result<(), CrmError> {
    let company = tc.company().as_str().to_string();
    // Retainers and invoices keep their organisation (the foreign keys
    // restrict; invoices are kept seven years for the tax authority):
    // named here as a 409 instead of surfacing the database's refusal.
    if has_billing(tc, &company, id).await? {
        return Err(CrmError::HasBilling);
    }
    let n = diesel::delete(
        orgs::table
            .filter(orgs::company_id.eq(&company))
            .filter(orgs::id.eq(id))
            .filter(orgs::version.eq(version)),
    )
    .execute(tc.conn())
    .await?;
    if n == 0 {
        return Err(stale_or_missing(still_there(tc, id).await?));
    }
    super::audit(
        tc,
        actor,
        "crm.organisation_deleted",
        "organisation",
        id,
        request_id,
    )
    .await?;
    Ok(())
}

/// Whether a retainer or an invoice of this workspace refers to `id`.
async fn has_billing(tc: &mut TenantConn<'_>, company: &str, id: Uuid) -> Result<bool, CrmError> {
    use crate::schema::{invoices, retainers};
    let r: bool = diesel::select(exists(
        retainers::table
            .filter(retainers::company_id.eq(company))
            .filter(retainers::organisation_id.eq(id)),
    ))
    .get_result(tc.conn())
    .await?;
    if r {
        return Ok(true);
    }
    Ok(diesel::select(exists(
        invoices::table
            .filter(invoices::company_id.eq(company))
            .filter(invoices::organisation_id.eq(id)),
    ))
    .get_result(tc.conn())
    .await?)
}
