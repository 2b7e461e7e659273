//! Contacts (persons): create, edit and delete, beside the read-only
//! record page (`visitors::records`), which keeps showing visitor → person
//! → deal on one page.

use chrono::{DateTime, Utc};
use diesel::dsl::{exists, now};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::validate::{self, Check, FieldError, MAX_NOTES};
use super::{CrmError, check_member, organisation_name, parse_ref, split, stale_or_missing};
use crate::access::TenantCtx;
use crate::schema::{forwards, persons, visitors};
use crate::{Database, DbError, TenantConn};

/// Where a contact came from. A lead gets a first-response task (the SLA).
pub const SOURCES: [&str; 4] = ["manual", "lead", "capture", "import"];

/// A contact form as typed.
#[derive(Debug, Clone, Default)]
pub struct ContactForm<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub organisation: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub notes: Option<&'a str>,
    /// `manual` or `lead` from the form; empty is `manual`.
    pub source: Option<&'a str>,
}

/// Validated fields, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactFields {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organisation_id: Option<Uuid>,
    pub owner_user_id: Option<Uuid>,
    pub notes: Option<String>,
    pub source: &'static str,
}

impl ContactForm<'_> {
    /// Checks every field and reports all failures at once.
    pub fn validate(&self) -> Result<ContactFields, Vec<FieldError>> {
        let mut c = Check::default();
        let source = match validate::optional(self.source).as_deref() {
            None | Some("manual") => "manual",
            Some("lead") => "lead",
            Some(_) => {
                c.fail("source", "unknown");
                "manual"
            }
        };
        let fields = ContactFields {
            name: validate::name(&mut c, "name", self.name),
            email: validate::email(&mut c, self.email),
            phone: validate::phone(&mut c, self.phone),
            organisation_id: parse_ref(&mut c, "organisation", self.organisation),
            owner_user_id: parse_ref(&mut c, "owner", self.owner),
            notes: validate::text(&mut c, "notes", self.notes, MAX_NOTES),
            source,
        };
        c.finish(fields)
    }
}

/// A contact as its edit form needs it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Contact {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organisation_id: Option<Uuid>,
    pub owner_user_id: Option<Uuid>,
    pub notes: Option<String>,
    pub source: String,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl Database {
    /// One contact for editing; `None` when not in this workspace.
    pub async fn contact(&self, ctx: &TenantCtx, id: Uuid) -> Result<Option<Contact>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            Ok(persons::table
                .filter(persons::company_id.eq(&company))
                .filter(persons::id.eq(id))
                .select((
                    persons::id,
                    persons::name,
                    persons::email,
                    persons::phone,
                    persons::organisation_id,
                    persons::owner_user_id,
                    persons::notes,
                    persons::source,
                    persons::version,
                    persons::updated_at,
                ))
                .first(tc.conn())
                .await
                .optional()?)
        })
        .await
    }

    /// Creates a contact; returns its id.
    pub async fn create_contact(
        &self,
        ctx: &TenantCtx,
        f: &ContactFields,
        request_id: &str,
    ) -> Result<Uuid, CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(create(tc, f, actor, request_id).await)
        })
        .await?
    }

    /// Saves an edit made to `version`; returns the new version.
    pub async fn update_contact(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        version: i32,
        f: &ContactFields,
    ) -> Result<i32, CrmError> {
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(update(tc, id, version, f).await)
        })
        .await?
    }

    /// Deletes the contact at `version`, audited (ids only), with its
    /// notes, tasks and search terms; its deals stay, unlinked. Only for a
    /// contact without a consented website trail (no linked visitor or
    /// forward): that one needs [`Database::erase_person`], which also
    /// moves its consent decisions to a tombstone and leaves a receipt
    /// (refused here as the `contact` field's `contact.has_trail`).
    pub async fn delete_contact(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        version: i32,
        request_id: &str,
    ) -> Result<(), CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(delete(tc, id, version, actor, request_id).await)
        })
        .await?
    }
}

/// A unique clash on the email is the email field's problem.
fn email_taken(e: DbError) -> CrmError {
    match e {
        DbError::Conflict { constraint } if constraint == "persons_email_key" => {
            CrmError::field("email", "email.taken")
        }
        other => CrmError::from(other),
    }
}

async fn create(
    tc: &mut TenantConn<'_>,
    f: &ContactFields,
    actor: Uuid,
    request_id: &str,
) -> Result<Uuid, CrmError> {
    check_member(tc, "owner", f.owner_user_id).await?;
    // The free-text organisation older rows and public forms carry stays
    // in step with the linked organisation's name.
    let org_name = organisation_name(tc, f.organisation_id).await?;
    let company = tc.company().as_str().to_string();
    let id: Uuid = diesel::insert_into(persons::table)
        .values((
            persons::company_id.eq(&company),
            persons::name.eq(&f.name),
            persons::email.eq(&f.email),
            persons::phone.eq(&f.phone),
            persons::organisation.eq(&org_name),
            persons::organisation_id.eq(f.organisation_id),
            persons::owner_user_id.eq(f.owner_user_id),
            persons::notes.eq(&f.notes),
            persons::source.eq(f.source),
        ))
        .returning(persons::id)
        .get_result(tc.conn())
        .await
        .map_err(|e| email_taken(e.into()))?;
    if f.source == "lead" {
        // The lead-response SLA: a first-response task, due at the
        // workspace's deadline, for the owner (or whoever added the lead).
        super::tasks::first_response_task(tc, id, f.owner_user_id.or(Some(actor))).await?;
    }
    super::audit(tc, actor, "crm.contact_created", "person", id, request_id).await?;
    Ok(id)
}

async fn still_there(tc: &mut TenantConn<'_>, id: Uuid) -> Result<bool, CrmError> {
    let company = tc.company().as_str().to_string();
    Ok(diesel::select(exists(
        persons::table
            .filter(persons::company_id.eq(&company))
            .filter(persons::id.eq(id)),
    ))
    .get_result(tc.conn())
    .await?)
}

async fn update(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    version: i32,
    f: &ContactFields,
) -> Result<i32, CrmError> {
    check_member(tc, "owner", f.owner_user_id).await?;
    let org_name = organisation_name(tc, f.organisation_id).await?;
    let company = tc.company().as_str().to_string();
    let saved: Option<i32> = diesel::update(
        persons::table
            .filter(persons::company_id.eq(&company))
            .filter(persons::id.eq(id))
            .filter(persons::version.eq(version)),
    )
    .set((
        persons::name.eq(&f.name),
        persons::email.eq(&f.email),
        persons::phone.eq(&f.phone),
        persons::organisation.eq(&org_name),
        persons::organisation_id.eq(f.organisation_id),
        persons::owner_user_id.eq(f.owner_user_id),
        persons::notes.eq(&f.notes),
        persons::version.eq(persons::version + 1),
        persons::updated_at.eq(now.into_sql::<Timestamptz>()),
    ))
    .returning(persons::version)
    .get_result(tc.conn())
    .await
    .optional()
    .map_err(|e| email_taken(e.into()))?;
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
    let trail: bool = diesel::select(
        exists(
            visitors::table
                .filter(visitors::company_id.eq(&company))
                .filter(visitors::person_id.eq(id)),
        )
        .or(exists(
            forwards::table
                .filter(forwards::company_id.eq(&company))
                .filter(forwards::person_id.eq(id)),
        )),
    )
    .get_result(tc.conn())
    .await?;
    if trail {
        return Err(CrmError::field("contact", "contact.has_trail"));
    }
    let n = diesel::delete(
        persons::table
            .filter(persons::company_id.eq(&company))
            .filter(persons::id.eq(id))
            .filter(persons::version.eq(version)),
    )
    .execute(tc.conn())
    .await?;
    if n == 0 {
        return Err(stale_or_missing(still_there(tc, id).await?));
    }
    super::audit(tc, actor, "crm.contact_deleted", "person", id, request_id).await?;
    Ok(())
}

/// One contact as the CSV export writes it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct ExportRow {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organisation: Option<String>,
    pub source: String,
    pub created_at: DateTime<Utc>,
}

/// The most contacts one export holds.
pub const EXPORT_LIMIT: i64 = 20_000;

impl Database {
    /// Every contact of the workspace (up to [`EXPORT_LIMIT`], by name),
    /// and the export's audit row (the count, never a name) in the same
    /// transaction: no export goes unrecorded.
    pub async fn export_contacts(
        &self,
        ctx: &TenantCtx,
        request_id: &str,
    ) -> Result<Vec<ExportRow>, DbError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let rows: Vec<ExportRow> = persons::table
                .filter(persons::company_id.eq(&company))
                .order((persons::name.asc(), persons::id.asc()))
                .limit(EXPORT_LIMIT)
                .select((
                    persons::name,
                    persons::email,
                    persons::phone,
                    persons::organisation,
                    persons::source,
                    persons::created_at,
                ))
                .load(tc.conn())
                .await?;
            crate::repo::audit::append(
                tc,
                &crate::repo::audit::AuditEntry {
                    actor_user_id: Some(actor),
                    action: "crm.contacts_exported",
                    target_type: Some("contacts"),
                    target_id: Some(&rows.len().to_string()),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
            Ok(rows)
        })
        .await
    }
}
