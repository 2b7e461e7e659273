//! Exports (issue 16): a data subject's access request as a ZIP
//! ([`subject`]), and the whole workspace as a background job
//! ([`workspace`]) with single-use download tokens.
//!
//! # The workspace export's life
//! 1. A member with `privacy.export` requests it: one `exports` row
//!    (`queued`) and one job of kind [`WORKSPACE_EXPORT`] (key
//!    `export:<id>`), in one transaction, audited
//!    (`privacy.export_requested`).
//! 2. The job streams every tenant table the catalog lists, and the
//!    workspace's stored files, into a spool file
//!    `<data dir>/exports/<company>/<id>.zip.partial`, records progress in
//!    short transactions of their own (so the page sees it), then seals
//!    the ZIP chunk by chunk into the object store
//!    (`{company}/exports/{id}.zip.sealed`, one multipart upload), removes
//!    the spool file, and marks the row `done` in the job's own
//!    transaction.
//! 3. A member with `privacy.export` asks for a download: a random token
//!    (only its SHA-256 is stored) valid for one use within 24 hours, for
//!    that member only; redeeming it is audited
//!    (`privacy.export_downloaded`).
//!
//! # Crash safety
//! Only a row marked `done` is offered, and it is marked `done` only after
//! the upload completed, in the transaction that also completes the job.
//! A crash before that leaves the row `running` and the job claimed; once
//! the lease expires the job runs again and restarts the export from the
//! first table, overwriting the spool file. An upload cut short never
//! becomes an object (a multipart upload appears only when completed); an
//! object uploaded but not yet marked (a crash between the upload and the
//! commit) is simply written again under the same key. When the last
//! attempt fails the row is marked `failed` and the spool file and any
//! object are removed.

pub mod cleanup;
pub mod subject;
pub mod workspace;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use metiva_security::cipher::KeyRing;

use crate::access::TenantCtx;
use crate::files::FileStore;
use crate::jobs::{self, Backoff, JobKind, NewJob};
use crate::repo::audit::{self, AuditEntry};
use crate::schema::{export_downloads, exports};
use crate::sealed_stream::{PlainStream, StreamContext};
use crate::{CompanyId, Database, DbError, TenantConn};

/// The workspace export's job kind.
pub const WORKSPACE_EXPORT: JobKind = JobKind {
    name: "privacy.workspace_export",
    max_attempts: 5,
    backoff: Backoff::DEFAULT,
};

/// How long a finished export can be downloaded, and how long a download
/// token lives (never past the export's own expiry).
pub const DOWNLOAD_TTL: TimeDelta = TimeDelta::hours(24);

/// Where exports live.
///
/// - The finished ZIP: the object store ([`FileStore`]), key
///   `{company}/exports/{id}.zip.sealed`, sealed in chunks under the
///   company's data key ([`crate::sealed_stream`]): the bucket holds
///   ciphertext only, and offboarding's destroyed key makes a forgotten
///   copy unreadable.
/// - While it is written: a spool file, `<data dir>/exports/<company>/
///   <id>.zip.partial`, never offered, removed once uploaded.
///
/// Paths and keys are derived from a validated company id and a uuid
/// only, never from input text, so no request can point them elsewhere.
#[derive(Debug, Clone)]
pub struct ExportStore {
    root: PathBuf,
    files: FileStore,
}

impl ExportStore {
    /// `root` is the data directory (`METIVA_DATA_DIR`), for the spool;
    /// `files` the object store finished exports go to.
    pub fn new(root: impl Into<PathBuf>, files: FileStore) -> Self {
        Self {
            root: root.into(),
            files,
        }
    }

    /// The company's spool directory.
    pub fn dir(&self, company: &CompanyId) -> PathBuf {
        self.root.join("exports").join(company.as_str())
    }

    /// A finished file as versions before the object store kept it
    /// (removed by the clean-up, never offered).
    pub fn legacy_path(&self, company: &CompanyId, id: Uuid) -> PathBuf {
        self.dir(company).join(format!("{id}.zip"))
    }

    /// The file being written; never offered.
    pub fn partial_path(&self, company: &CompanyId, id: Uuid) -> PathBuf {
        self.dir(company).join(format!("{id}.zip.partial"))
    }

    /// The finished export's object key.
    pub fn object_key(company: &CompanyId, id: Uuid) -> String {
        format!("{}/exports/{id}.zip.sealed", company.as_str())
    }

    /// The finished export's place, for its chunks' associated data.
    pub fn context(company: &CompanyId, id: Uuid) -> StreamContext {
        StreamContext {
            company: company.as_str().to_string(),
            table: "exports",
            column: "zip",
            id: id.to_string(),
        }
    }

    pub fn files(&self) -> &FileStore {
        &self.files
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The finished export as a stream of plaintext chunks, each
    /// authenticated before it is yielded. The company's data key is
    /// loaded first (`db` is its store).
    pub async fn open(
        &self,
        db: &Database,
        keys: Arc<KeyRing>,
        company: &CompanyId,
        id: Uuid,
    ) -> Result<PlainStream, DbError> {
        KeyRing::load(&keys, db, company.as_str())
            .await
            .map_err(|e| DbError::Internal(format!("loading the data key: {e}")))?;
        crate::sealed_stream::open(
            &self.files,
            keys,
            &Self::object_key(company, id),
            Self::context(company, id),
        )
        .await
    }
}

/// One export, as the page shows it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct ExportRow {
    pub id: Uuid,
    pub status: String,
    pub rows_done: i64,
    pub rows_total: i64,
    pub tables_done: i32,
    pub tables_total: i32,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl ExportRow {
    /// Progress in whole percent (100 only when done).
    pub fn percent(&self) -> i64 {
        if self.status == "done" {
            return 100;
        }
        if self.rows_total <= 0 {
            return 0;
        }
        (self.rows_done.saturating_mul(100) / self.rows_total).clamp(0, 99)
    }

    /// Done and still within [`DOWNLOAD_TTL`] of finishing.
    pub fn downloadable(&self, at: DateTime<Utc>) -> bool {
        self.status == "done" && self.finished_at.is_some_and(|f| at - f < DOWNLOAD_TTL)
    }
}

/// A redeemed download: the export to stream, and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redeemed {
    pub id: Uuid,
    /// The ZIP's size in bytes, as the finished export recorded it.
    pub bytes: Option<i64>,
}

/// Why an export request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The member lacks `privacy.export`.
    #[error("forbidden")]
    Forbidden,
    /// No such export (or subject) in this workspace.
    #[error("not found")]
    NotFound,
    /// The export is not finished, or no longer downloadable, or the token
    /// was used, expired or issued to someone else.
    #[error("gone: {0}")]
    Gone(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

const COLUMNS: (
    exports::id,
    exports::status,
    exports::rows_done,
    exports::rows_total,
    exports::tables_done,
    exports::tables_total,
    exports::bytes,
    exports::sha256,
    exports::created_at,
    exports::finished_at,
) = (
    exports::id,
    exports::status,
    exports::rows_done,
    exports::rows_total,
    exports::tables_done,
    exports::tables_total,
    exports::bytes,
    exports::sha256,
    exports::created_at,
    exports::finished_at,
);

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl Database {
    /// Requests a workspace export: the row and its job in one
    /// transaction, audited. An export already queued or running is
    /// answered instead of a second one.
    pub async fn request_workspace_export(
        &self,
        ctx: &TenantCtx,
        request_id: &str,
    ) -> Result<Uuid, ExportError> {
        // Fail closed here too, not only in the route.
        if !ctx.can(metiva_roles::Permission::PrivacyExport) {
            return Err(ExportError::Forbidden);
        }
        let user = ctx.user_id();
        Ok(self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                let company = tc.company().as_str().to_string();
                let open: Option<Uuid> = exports::table
                    .filter(exports::company_id.eq(&company))
                    .filter(exports::status.eq_any(["queued", "running"]))
                    .select(exports::id)
                    .first(tc.conn())
                    .await
                    .optional()?;
                if let Some(id) = open {
                    return Ok(id);
                }
                let id: Uuid = diesel::insert_into(exports::table)
                    .values((
                        exports::company_id.eq(&company),
                        exports::requested_by.eq(user),
                    ))
                    .returning(exports::id)
                    .get_result(tc.conn())
                    .await?;
                let payload = serde_json::json!({ "export_id": id }).to_string();
                let key = format!("export:{id}");
                jobs::enqueue(
                    tc,
                    &NewJob {
                        kind: &WORKSPACE_EXPORT,
                        payload: &payload,
                        key: Some(&key),
                        run_at: None,
                    },
                )
                .await?;
                let target = id.to_string();
                audit::append(
                    tc,
                    &AuditEntry {
                        actor_user_id: Some(user),
                        action: "privacy.export_requested",
                        target_type: Some("export"),
                        target_id: Some(&target),
                        request_id: Some(request_id),
                        reason: None,
                    },
                )
                .await?;
                Ok(id)
            })
            .await?)
    }

    /// This workspace's ten latest exports, newest first.
    pub async fn list_exports(&self, ctx: &TenantCtx) -> Result<Vec<ExportRow>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            Ok(exports::table
                .filter(exports::company_id.eq(&company))
                .order(exports::created_at.desc())
                .limit(10)
                .select(COLUMNS)
                .load(tc.conn())
                .await?)
        })
        .await
    }

    /// One export of this workspace; `None` for another workspace's.
    pub async fn export_status(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<ExportRow>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            Ok(exports::table
                .filter(exports::company_id.eq(&company))
                .filter(exports::id.eq(id))
                .select(COLUMNS)
                .first(tc.conn())
                .await
                .optional()?)
        })
        .await
    }

    /// Issues a single-use download token for a finished export, for this
    /// member only, valid until the export's own 24 hours run out. The
    /// token is returned once; only its SHA-256 is stored.
    pub async fn issue_export_download(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<String, ExportError> {
        if !ctx.can(metiva_roles::Permission::PrivacyExport) {
            return Err(ExportError::Forbidden);
        }
        let user = ctx.user_id();
        let token = hex::encode(rand::random::<[u8; 32]>());
        let hash = token_hash(&token);
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let row: Option<ExportRow> = exports::table
                .filter(exports::company_id.eq(&company))
                .filter(exports::id.eq(id))
                .select(COLUMNS)
                .first(tc.conn())
                .await
                .optional()?;
            let Some(row) = row else {
                return Ok(Err(ExportError::NotFound));
            };
            let at = Utc::now();
            let (true, Some(finished)) = (row.downloadable(at), row.finished_at) else {
                return Ok(Err(ExportError::Gone("export.not_downloadable")));
            };
            diesel::insert_into(export_downloads::table)
                .values((
                    export_downloads::company_id.eq(&company),
                    export_downloads::token_hash.eq(&hash),
                    export_downloads::export_id.eq(id),
                    export_downloads::issued_to.eq(user),
                    export_downloads::expires_at.eq(finished + DOWNLOAD_TTL),
                ))
                .execute(tc.conn())
                .await?;
            Ok(Ok(()))
        })
        .await??;
        Ok(token)
    }

    /// Redeems a download token: marks it used (once; a second use finds
    /// nothing), checks it is this member's and unexpired, and audits the
    /// download. Answers the export's id, whose file the caller streams,
    /// and the ZIP's size (for `Content-Length`).
    pub async fn redeem_export_download(
        &self,
        ctx: &TenantCtx,
        token: &str,
        request_id: &str,
    ) -> Result<Redeemed, ExportError> {
        if !ctx.can(metiva_roles::Permission::PrivacyExport) {
            return Err(ExportError::Forbidden);
        }
        let user = ctx.user_id();
        let hash = token_hash(token);
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            // Single use: only the first UPDATE finds `used_at` empty.
            let export: Option<Uuid> = diesel::update(
                export_downloads::table
                    .filter(export_downloads::company_id.eq(&company))
                    .filter(export_downloads::token_hash.eq(&hash))
                    .filter(export_downloads::used_at.is_null())
                    .filter(export_downloads::issued_to.eq(user))
                    .filter(export_downloads::expires_at.gt(now)),
            )
            .set(export_downloads::used_at.eq(now))
            .returning(export_downloads::export_id)
            .get_result(tc.conn())
            .await
            .optional()?;
            let Some(export) = export else {
                return Ok(Err(ExportError::Gone("export.token_invalid")));
            };
            let bytes: Option<i64> = diesel::update(
                exports::table
                    .filter(exports::company_id.eq(&company))
                    .filter(exports::id.eq(export)),
            )
            .set(exports::downloaded_at.eq(now))
            .returning(exports::bytes)
            .get_result(tc.conn())
            .await?;
            let target = export.to_string();
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: Some(user),
                    action: "privacy.export_downloaded",
                    target_type: Some("export"),
                    target_id: Some(&target),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
            Ok(Ok(Redeemed { id: export, bytes }))
        })
        .await?
    }
}
