//! Workspace branding for invoices (issue 17): the sender's address, KvK
//! number, VAT number and logo, shown on every invoice PDF rendered after
//! they are saved (an issued PDF is a fiscal record and never changes).
//!
//! # Security
//! - Only owners change branding (it is what customers see as the
//!   sender's legal identity); every member may read it. Checked here,
//!   fail closed, whatever the caller checked before.
//! - The KvK and VAT formats are the CRM's (`crm::validate`), and the
//!   table checks them again.
//! - The logo is untrusted: checked by content (PNG or JPEG, 512 KB, 2000
//!   pixels a side, decodable; see `billing::logo`) before anything is
//!   written, then sealed in the object store like every file.
//! - Changes are audited (`branding.saved`, `branding.logo_saved`).

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use metiva_roles::Role;
use metiva_security::cipher::KeyRing;
use uuid::Uuid;

use crate::billing::logo::{self, LogoError};
use crate::crm::validate::{self, Check, FieldError};
use crate::files::{FileStore, NewFile, StoredFile};
use crate::schema::{company_branding as cb, stored_files};
use crate::{DbError, TenantConn, TenantCtx};

/// The workspace's branding as saved.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BrandingRow {
    pub address: Option<String>,
    pub kvk: Option<String>,
    pub vat: Option<String>,
    pub logo_file_id: Option<Uuid>,
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum BrandingError {
    /// Not an owner (403).
    #[error("forbidden")]
    Forbidden,
    /// Fields failed validation (422, each named).
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// The logo was refused (413 for its size, 415 for its type, 422 for
    /// an image this writer does not take).
    #[error(transparent)]
    Logo(#[from] LogoError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The form's fields, validated: an empty field clears it.
pub fn validate_form(
    address: Option<&str>,
    kvk: Option<&str>,
    vat: Option<&str>,
) -> Result<BrandingRow, Vec<FieldError>> {
    let mut c = Check::default();
    let row = BrandingRow {
        address: validate::text(&mut c, "address", address, 300),
        kvk: validate::kvk(&mut c, kvk),
        vat: validate::vat(&mut c, vat),
        logo_file_id: None,
    };
    c.finish(row)
}

/// The bound workspace's branding (defaults when never saved).
pub async fn read(tc: &mut TenantConn<'_>) -> Result<BrandingRow, DbError> {
    let company = tc.company().as_str().to_string();
    let row = cb::table
        .filter(cb::company_id.eq(&company))
        .select((cb::address, cb::kvk, cb::vat, cb::logo_file_id))
        .first::<(Option<String>, Option<String>, Option<String>, Option<Uuid>)>(tc.conn())
        .await
        .optional()?;
    Ok(row
        .map(|(address, kvk, vat, logo_file_id)| BrandingRow {
            address,
            kvk,
            vat,
            logo_file_id,
        })
        .unwrap_or_default())
}

/// The logo's file metadata, if one is saved.
pub async fn logo_file(tc: &mut TenantConn<'_>, id: Uuid) -> Result<Option<StoredFile>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(stored_files::table
        .filter(stored_files::company_id.eq(&company))
        .filter(stored_files::id.eq(id))
        .filter(stored_files::purpose.eq("logo"))
        .select(StoredFile::as_select())
        .first(tc.conn())
        .await
        .optional()?)
}

fn owner_only(ctx: &TenantCtx) -> Result<(), BrandingError> {
    if ctx.role() == Role::Owner {
        Ok(())
    } else {
        Err(BrandingError::Forbidden)
    }
}

impl crate::Database {
    /// The workspace's branding (any member).
    pub async fn branding(&self, ctx: &TenantCtx) -> Result<BrandingRow, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| read(tc).await)
            .await
    }

    /// Saves the address, KvK and VAT number (owners; validated, 422 with
    /// each failing field). The logo is kept.
    pub async fn save_branding(
        &self,
        ctx: &TenantCtx,
        address: Option<&str>,
        kvk: Option<&str>,
        vat: Option<&str>,
        request_id: &str,
    ) -> Result<(), BrandingError> {
        owner_only(ctx)?;
        let row = validate_form(address, kvk, vat).map_err(BrandingError::Invalid)?;
        let company = ctx.company().as_str().to_string();
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            diesel::insert_into(cb::table)
                .values((
                    cb::company_id.eq(&company),
                    cb::address.eq(&row.address),
                    cb::kvk.eq(&row.kvk),
                    cb::vat.eq(&row.vat),
                ))
                .on_conflict(cb::company_id)
                .do_update()
                .set((
                    cb::address.eq(excluded(cb::address)),
                    cb::kvk.eq(excluded(cb::kvk)),
                    cb::vat.eq(excluded(cb::vat)),
                    cb::updated_at.eq(diesel::dsl::now),
                ))
                .execute(tc.conn())
                .await?;
            crate::repo::audit::append(
                tc,
                &crate::repo::audit::AuditEntry {
                    actor_user_id: Some(actor),
                    action: "branding.saved",
                    target_type: Some("company"),
                    target_id: Some(&company),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await
        })
        .await?;
        Ok(())
    }

    /// Saves a new logo (owners): checked by content before anything is
    /// written, sealed and stored, then made the workspace's logo. The
    /// previous logo's file stays (older invoices were rendered with it).
    pub async fn save_logo(
        &self,
        ctx: &TenantCtx,
        keys: &KeyRing,
        files: &FileStore,
        bytes: &[u8],
        request_id: &str,
    ) -> Result<Uuid, BrandingError> {
        owner_only(ctx)?;
        let content_type = logo::check(bytes)?;
        crate::billing::connection::load_key(self, keys, ctx.company()).await?;
        let company = ctx.company().as_str().to_string();
        let actor = ctx.user_id();
        let id = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                let key = format!("branding/logo-{}", Uuid::new_v4());
                let name = if content_type == "image/png" {
                    "logo.png"
                } else {
                    "logo.jpg"
                };
                let id = crate::files::store(
                    tc,
                    files,
                    keys,
                    &NewFile {
                        purpose: "logo",
                        invoice_id: None,
                        deal_id: None,
                        organisation_id: None,
                        key_suffix: &key,
                        name,
                        content_type,
                        bytes,
                    },
                )
                .await?;
                diesel::insert_into(cb::table)
                    .values((cb::company_id.eq(&company), cb::logo_file_id.eq(id)))
                    .on_conflict(cb::company_id)
                    .do_update()
                    .set((
                        cb::logo_file_id.eq(excluded(cb::logo_file_id)),
                        cb::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(tc.conn())
                    .await?;
                crate::crm::audit(tc, actor, "branding.logo_saved", "file", id, request_id).await?;
                Ok(id)
            })
            .await?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_names_each_bad_field() {
        let ok = validate_form(
            Some(" Keizersgracht 1, Amsterdam "),
            Some("1234 5678"),
            Some("nl123456789b01"),
        )
        .unwrap();
        assert_eq!(ok.address.as_deref(), Some("Keizersgracht 1, Amsterdam"));
        assert_eq!(ok.kvk.as_deref(), Some("12345678"));
        assert_eq!(ok.vat.as_deref(), Some("NL123456789B01"));
        assert_eq!(
            validate_form(Some(""), None, Some(" ")).unwrap(),
            BrandingRow::default()
        );
        let bad =
            validate_form(Some("x".repeat(301).as_str()), Some("1234"), Some("DE123")).unwrap_err();
        let codes: Vec<_> = bad.iter().map(|f| (f.field, f.code)).collect();
        assert_eq!(
            codes,
            [
                ("address", "too_long"),
                ("kvk", "kvk.format"),
                ("vat", "vat.format")
            ]
        );
    }
}
