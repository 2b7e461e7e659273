//! Uploads attached to CRM records (issue 17): contracts (PDF, or a scan
//! as PNG or JPEG) and signature images (PNG, JPEG) on a deal or an
//! organisation, stored sealed in the object store like every file
//! ([`crate::files`]).
//!
//! # Security
//! - The type is decided by the content ([`crate::files::sniff`]), never
//!   by the name or the declared type; anything else is refused before
//!   anything is written (nothing stored, no object, no row).
//! - Size: 1 byte to [`MAX_FILE_BYTES`]; checked before sealing.
//! - Who may: a deal's files need `deals.write` to attach or delete and
//!   `deals.read` to list and download; an organisation's `persons.write`
//!   and `persons.read` (the organisation pages' own permissions).
//! - Every query runs under the caller's company binding (RLS) and names
//!   the company: another workspace's record or file id is not found.
//! - Uploads, downloads and deletes are audited (ids only) in the
//!   transaction that writes or reads the metadata; a download is audited
//!   before its bytes are read.
//! - A delete removes the row (and audits it) in one transaction, then the
//!   object after the commit. If the object store fails at that moment
//!   the object stays behind as harmless garbage: sealed under the
//!   workspace's data key, referred to by no row (nothing lists, serves or
//!   opens it), collected by the hourly orphan sweep (`files_sweep`) and
//!   deleted with everything under `{company}/` when the workspace is
//!   offboarded. The caller is told, to log it.
//! - The stored name is reduced to a plain ASCII name (no path, quotes or
//!   control characters), so it is safe in a `Content-Disposition` header.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use metiva_roles::Permission;
use metiva_security::cipher::KeyRing;
use uuid::Uuid;

use crate::files::{FileStore, MAX_FILE_BYTES, NewFile, StoredFile, sniff};
use crate::schema::{deals, organisations, stored_files};
use crate::{DbError, TenantConn, TenantCtx};

/// The record a file is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    Deal(Uuid),
    Organisation(Uuid),
}

impl Record {
    /// `deal` or `organisation` and an id; None for anything else.
    pub fn parse(kind: &str, id: &str) -> Option<Self> {
        let id = Uuid::parse_str(id).ok()?;
        match kind {
            "deal" => Some(Self::Deal(id)),
            "organisation" => Some(Self::Organisation(id)),
            _ => None,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Self::Deal(_) => "deal",
            Self::Organisation(_) => "organisation",
        }
    }

    fn id(self) -> Uuid {
        match self {
            Self::Deal(id) | Self::Organisation(id) => id,
        }
    }

    fn read_permission(self) -> Permission {
        match self {
            Self::Deal(_) => Permission::DealsRead,
            Self::Organisation(_) => Permission::PersonsRead,
        }
    }

    fn write_permission(self) -> Permission {
        match self {
            Self::Deal(_) => Permission::DealsWrite,
            Self::Organisation(_) => Permission::PersonsWrite,
        }
    }
}

/// What an upload is: a contract, or a signature image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Contract,
    Signature,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "contract" => Some(Self::Contract),
            "signature" => Some(Self::Signature),
            _ => None,
        }
    }

    /// The `stored_files.purpose`.
    pub fn purpose(self) -> &'static str {
        match self {
            Self::Contract => "contract",
            Self::Signature => "signature",
        }
    }
}

/// Why an upload or download was refused.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("forbidden")]
    Forbidden,
    /// No such record or file in this workspace.
    #[error("not found")]
    NotFound,
    /// Over [`MAX_FILE_BYTES`] (413).
    #[error("file too large")]
    TooLarge,
    /// Not a PDF, PNG or JPEG by content, or a PDF as a signature (415).
    #[error("unsupported file type")]
    UnsupportedType,
    /// A form field is missing or unknown (422): `file` (empty) or `kind`.
    #[error("invalid field {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One attached file, as the record's page lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
}

/// A deleted attachment: the record it was on, and the object store's
/// failure if its object could not be deleted after the row was (see the
/// module docs: harmless, to be logged).
#[derive(Debug)]
pub struct Deleted {
    pub record: Record,
    pub object_left: Option<DbError>,
}

/// A file for a download: its name, type and bytes.
#[derive(Debug)]
pub struct Download {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The checked type of an upload of `kind`, or the refusal.
pub fn check_upload(kind: Kind, bytes: &[u8]) -> Result<&'static str, AttachError> {
    if bytes.is_empty() {
        return Err(AttachError::Invalid("file"));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(AttachError::TooLarge);
    }
    match (kind, sniff(bytes)) {
        (_, None) | (Kind::Signature, Some("application/pdf")) => Err(AttachError::UnsupportedType),
        (_, Some(t)) => Ok(t),
    }
}

/// A safe stored name: the last path segment, ASCII letters, digits and
/// ` .-_()` kept, anything else `_`, at most 100 characters, and the
/// extension of the content's real type.
pub fn clean_name(raw: &str, content_type: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let name_trimmed = name
        .trim_matches(|c: char| c == '.' || c == ' ')
        .to_string();
    name = if name_trimmed.is_empty() {
        "file".to_string()
    } else {
        name_trimmed
    };
    let ext = match content_type {
        "application/pdf" => ".pdf",
        "image/png" => ".png",
        _ => ".jpg",
    };
    let lower = name.to_ascii_lowercase();
    let has_ext = lower.ends_with(ext) || (ext == ".jpg" && lower.ends_with(".jpeg"));
    if !has_ext {
        name.push_str(ext);
    }
    name
}

async fn record_exists(tc: &mut TenantConn<'_>, record: Record) -> Result<bool, DbError> {
    let company = tc.company().as_str().to_string();
    let n: i64 = match record {
        Record::Deal(id) => {
            deals::table
                .filter(deals::company_id.eq(&company))
                .filter(deals::id.eq(id))
                .count()
                .get_result(tc.conn())
                .await?
        }
        Record::Organisation(id) => {
            organisations::table
                .filter(organisations::company_id.eq(&company))
                .filter(organisations::id.eq(id))
                .count()
                .get_result(tc.conn())
                .await?
        }
    };
    Ok(n > 0)
}

impl crate::Database {
    /// Attaches an upload to `record` (see the module docs); answers the
    /// file's id. Checks the permission, size and type before anything
    /// is written; the record must exist in the caller's workspace.
    #[allow(clippy::too_many_arguments)]
    pub async fn attach_file(
        &self,
        ctx: &TenantCtx,
        keys: &KeyRing,
        files: &FileStore,
        record: Record,
        kind: Kind,
        name: &str,
        bytes: &[u8],
        request_id: &str,
    ) -> Result<Uuid, AttachError> {
        if !ctx.can(record.write_permission()) {
            return Err(AttachError::Forbidden);
        }
        let content_type = check_upload(kind, bytes)?;
        let name = clean_name(name, content_type);
        crate::billing::connection::load_key(self, keys, ctx.company()).await?;
        let actor = ctx.user_id();
        let id = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                if !record_exists(tc, record).await? {
                    return Ok(None);
                }
                let key = format!("attachments/{}", Uuid::new_v4());
                let (deal_id, organisation_id) = match record {
                    Record::Deal(id) => (Some(id), None),
                    Record::Organisation(id) => (None, Some(id)),
                };
                let id = crate::files::store(
                    tc,
                    files,
                    keys,
                    &NewFile {
                        purpose: kind.purpose(),
                        invoice_id: None,
                        deal_id,
                        organisation_id,
                        key_suffix: &key,
                        name: &name,
                        content_type,
                        bytes,
                    },
                )
                .await?;
                crate::crm::audit(
                    tc,
                    actor,
                    "files.uploaded",
                    record.kind(),
                    record.id(),
                    request_id,
                )
                .await?;
                Ok(Some(id))
            })
            .await?;
        id.ok_or(AttachError::NotFound)
    }

    /// The files attached to `record`, newest first.
    pub async fn attachments(
        &self,
        ctx: &TenantCtx,
        record: Record,
    ) -> Result<Vec<Attachment>, AttachError> {
        if !ctx.can(record.read_permission()) {
            return Err(AttachError::Forbidden);
        }
        let company = ctx.company().as_str().to_string();
        let rows = self
            .in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
                let q = stored_files::table
                    .select((
                        stored_files::id,
                        stored_files::purpose,
                        stored_files::name,
                        stored_files::content_type,
                        stored_files::size_bytes,
                        stored_files::created_at,
                    ))
                    .filter(stored_files::company_id.eq(&company))
                    .filter(stored_files::purpose.eq_any(vec!["contract", "signature"]))
                    .into_boxed();
                let q = match record {
                    Record::Deal(id) => q.filter(stored_files::deal_id.eq(id)),
                    Record::Organisation(id) => q.filter(stored_files::organisation_id.eq(id)),
                };
                Ok(q.order((stored_files::created_at.desc(), stored_files::id))
                    .load::<(Uuid, String, String, String, i64, DateTime<Utc>)>(tc.conn())
                    .await?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, kind, name, content_type, size_bytes, created_at)| Attachment {
                    id,
                    kind,
                    name,
                    content_type,
                    size_bytes,
                    created_at,
                },
            )
            .collect())
    }

    /// An attached file for a download: found under the caller's binding
    /// (another workspace's id is not found), the record's read permission
    /// checked, audited (`files.downloaded`) in the same transaction, then
    /// read from the object store and opened (tag and SHA-256).
    pub async fn attachment_download(
        &self,
        ctx: &TenantCtx,
        keys: &KeyRing,
        files: &FileStore,
        id: Uuid,
        request_id: &str,
    ) -> Result<Download, AttachError> {
        let company = ctx.company().as_str().to_string();
        let actor = ctx.user_id();
        let can_deals = ctx.can(Permission::DealsRead);
        let can_orgs = ctx.can(Permission::PersonsRead);
        let found = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                let Some(f) = stored_files::table
                    .filter(stored_files::company_id.eq(&company))
                    .filter(stored_files::id.eq(id))
                    .filter(stored_files::purpose.eq_any(vec!["contract", "signature"]))
                    .select(StoredFile::as_select())
                    .first(tc.conn())
                    .await
                    .optional()?
                else {
                    return Ok(Err(AttachError::NotFound));
                };
                let allowed =
                    (f.deal_id.is_some() && can_deals) || (f.organisation_id.is_some() && can_orgs);
                if !allowed {
                    return Ok(Err(AttachError::Forbidden));
                }
                crate::crm::audit(tc, actor, "files.downloaded", "file", id, request_id).await?;
                Ok(Ok(f))
            })
            .await??;
        crate::billing::connection::load_key(self, keys, ctx.company()).await?;
        let bytes = crate::files::open(files, keys, &company, &found).await?;
        Ok(Download {
            name: found.name,
            content_type: found.content_type,
            bytes,
        })
    }
}

impl crate::Database {
    /// Deletes an attached file (see the module docs): found under the
    /// caller's binding (another workspace's id is not found), the
    /// record's write permission checked, the row deleted and audited
    /// (`files.deleted`) in one transaction, then the object deleted.
    pub async fn delete_attachment(
        &self,
        ctx: &TenantCtx,
        files: &FileStore,
        id: Uuid,
        request_id: &str,
    ) -> Result<Deleted, AttachError> {
        let company = ctx.company().as_str().to_string();
        let actor = ctx.user_id();
        let can_deals = ctx.can(Permission::DealsWrite);
        let can_orgs = ctx.can(Permission::PersonsWrite);
        let (record, key) = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                let Some((deal_id, organisation_id)) = stored_files::table
                    .filter(stored_files::company_id.eq(&company))
                    .filter(stored_files::id.eq(id))
                    .filter(stored_files::purpose.eq_any(vec!["contract", "signature"]))
                    .select((stored_files::deal_id, stored_files::organisation_id))
                    .first::<(Option<Uuid>, Option<Uuid>)>(tc.conn())
                    .await
                    .optional()?
                else {
                    return Ok(Err(AttachError::NotFound));
                };
                let record = match (deal_id, organisation_id) {
                    (Some(d), _) if can_deals => Record::Deal(d),
                    (None, Some(o)) if can_orgs => Record::Organisation(o),
                    _ => return Ok(Err(AttachError::Forbidden)),
                };
                // The app role may delete attachments only (a RESTRICTIVE
                // policy, migration 000053); a delete that finds the row
                // gone (another delete just committed) is not found.
                let Some(key) = diesel::delete(
                    stored_files::table
                        .filter(stored_files::company_id.eq(&company))
                        .filter(stored_files::id.eq(id))
                        .filter(stored_files::purpose.eq_any(vec!["contract", "signature"])),
                )
                .returning(stored_files::object_key)
                .get_result::<String>(tc.conn())
                .await
                .optional()?
                else {
                    return Ok(Err(AttachError::NotFound));
                };
                crate::crm::audit(tc, actor, "files.deleted", "file", id, request_id).await?;
                Ok(Ok((record, key)))
            })
            .await??;
        // After the commit: never an object gone while its row remains.
        // The key was read under the binding and written by `store` under
        // the company's prefix; check it anyway before deleting.
        let object_left = if key.starts_with(&format!("{company}/")) {
            files.delete(&key).await.err()
        } else {
            Some(DbError::Internal("object key outside its company".into()))
        };
        Ok(Deleted {
            record,
            object_left,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_decided_by_content() {
        assert_eq!(
            check_upload(Kind::Contract, b"%PDF-1.7\n...").ok(),
            Some("application/pdf")
        );
        assert_eq!(
            check_upload(Kind::Signature, b"\x89PNG\r\n\x1a\n....").ok(),
            Some("image/png")
        );
        assert_eq!(
            check_upload(Kind::Signature, &[0xFF, 0xD8, 0xFF, 0xE0]).ok(),
            Some("image/jpeg")
        );
        assert!(matches!(
            check_upload(Kind::Contract, b"<html><script>"),
            Err(AttachError::UnsupportedType)
        ));
        assert!(matches!(
            check_upload(Kind::Signature, b"%PDF-1.4"),
            Err(AttachError::UnsupportedType)
        ));
        assert!(matches!(
            check_upload(Kind::Contract, b""),
            Err(AttachError::Invalid("file"))
        ));
        let big = vec![b'%'; MAX_FILE_BYTES + 1];
        assert!(matches!(
            check_upload(Kind::Contract, &big),
            Err(AttachError::TooLarge)
        ));
    }

    #[test]
    fn names_are_plain_and_carry_the_real_extension() {
        assert_eq!(
            clean_name("C:\\docs\\Contract \"v2\".pdf", "application/pdf"),
            "Contract _v2_.pdf"
        );
        assert_eq!(clean_name("../../etc/passwd", "image/png"), "passwd.png");
        assert_eq!(clean_name("scan.JPEG", "image/jpeg"), "scan.JPEG");
        assert_eq!(
            clean_name("évènement.html", "application/pdf"),
            "_v_nement.html.pdf"
        );
        assert_eq!(clean_name("", "image/png"), "file.png");
        assert_eq!(clean_name("...", "image/png"), "file.png");
    }
}
