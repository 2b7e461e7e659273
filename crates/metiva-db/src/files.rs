//! Files in an object store (issue 17), behind one interface
//! ([`FileStore`], the `object_store` crate): by default the local
//! filesystem under the data directory (`<data dir>/files`), or an
//! S3-compatible bucket in production ([`crate::object_s3`]).
//!
//! # Security
//! - Contents are sealed with the field cipher before they are written,
//!   with the workspace's data key and associated data binding company,
//!   table, column and file id ([`CONTENT_TABLE`], [`CONTENT_COLUMN`]):
//!   an object copied under another company or file id does not open.
//! - Object keys start with the company id (`{company}/…`), also checked
//!   by the table; the database holds metadata only (name, type, size,
//!   SHA-256 of the plaintext, the owner record, the key id and nonce).
//! - Opening checks the SHA-256 as well as the cipher's tag, and fails
//!   closed: a file that does not open is an error, never empty bytes.
//! - Reading the metadata runs under the caller's company binding (RLS);
//!   who may download is the caller's decision (e.g. `billing.read`).

use std::path::Path as FsPath;
use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures::StreamExt as _;
use metiva_security::cipher::{FieldContext, KeyRing, Sealed};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::schema::stored_files;
use crate::{CompanyId, DbError, TenantConn};

/// The associated data's table and column for file contents.
pub const CONTENT_TABLE: &str = "stored_files";
pub const CONTENT_COLUMN: &str = "content";
/// The upload and file limit (10 MB), as the table checks.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// The content type of `bytes` by their first bytes (never by a name or a
/// declared type): PDF, PNG or JPEG; None for anything else.
///
/// # Security
/// Only these three types are stored, and the type served on download is
/// this one, so a file declared `image/png` that is really HTML is refused
/// rather than stored under a type a browser might sniff past.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// An object store for sealed file contents.
#[derive(Clone)]
pub struct FileStore {
    /// The store, or why there is none: a configuration that did not
    /// build is refused on every use (fail closed), never replaced by
    /// another place to keep files.
    store: Result<Arc<dyn ObjectStore>, String>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.store {
            Ok(s) => write!(f, "FileStore({s})"),
            Err(e) => write!(f, "FileStore(unusable: {e})"),
        }
    }
}

/// An object store that fails (unreachable, refused credentials, 5xx
/// after the retries) is unavailable, which callers answer with 503 and
/// a "try again later" in the user's words; the detail goes to the log.
/// A missing object is not an outage but a broken record: internal.
pub(crate) fn store_err(e: object_store::Error) -> DbError {
    match e {
        object_store::Error::NotFound { .. } => DbError::Internal(format!("object store: {e}")),
        e => DbError::Unavailable(format!("object store: {e}")),
    }
}

pub(crate) fn parse_key(key: &str) -> Result<Path, DbError> {
    Path::parse(key).map_err(|e| DbError::Internal(e.to_string()))
}

impl FileStore {
    /// The local filesystem under `<data_dir>/files` (created).
    pub fn local(data_dir: &FsPath) -> Result<Self, DbError> {
        let root = data_dir.join("files");
        std::fs::create_dir_all(&root)
            .map_err(|e| DbError::Internal(format!("creating {}: {e}", root.display())))?;
        let fs = LocalFileSystem::new_with_prefix(&root).map_err(store_err)?;
        Ok(Self {
            store: Ok(Arc::new(fs)),
        })
    }

    /// An S3-compatible bucket (see [`crate::object_s3`]).
    pub fn s3(settings: &crate::object_s3::S3Settings) -> Result<Self, DbError> {
        Ok(Self {
            store: Ok(settings.build()?),
        })
    }

    /// Any `object_store` implementation (an S3-compatible bucket, or an
    /// in-memory store in tests).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store: Ok(store) }
    }

    /// A store that refuses every use, saying why (a configuration that
    /// did not build).
    pub fn unusable(reason: impl Into<String>) -> Self {
        Self {
            store: Err(reason.into()),
        }
    }

    /// The store itself, for streamed reads and multipart writes of
    /// objects larger than one sealed value (`crate::sealed_stream`).
    pub(crate) fn inner(&self) -> Result<&Arc<dyn ObjectStore>, DbError> {
        self.store
            .as_ref()
            .map_err(|e| DbError::Unavailable(format!("object store: {e}")))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), DbError> {
        let path = parse_key(key)?;
        self.inner()?
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(store_err)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, DbError> {
        let path = parse_key(key)?;
        let got = self.inner()?.get(&path).await.map_err(store_err)?;
        Ok(got.bytes().await.map_err(store_err)?.to_vec())
    }

    /// Deletes an object (a missing one is no error: deleting twice, or
    /// after a crash between the two steps, converges).
    pub async fn delete(&self, key: &str) -> Result<(), DbError> {
        let path = parse_key(key)?;
        match self.inner()?.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(e)),
        }
    }

    /// Up to `limit` keys of the objects under `{company}/`, every kind
    /// (invoices, branding, attachments, exports), in the store's order.
    ///
    /// # Security
    /// The prefix is a parsed [`CompanyId`], never empty or free text, and
    /// `object_store` lists it as `{company}/` (the delimiter appended): a
    /// listing never reaches another company whose id merely starts alike,
    /// nor the whole bucket.
    pub async fn list_prefix(
        &self,
        company: &CompanyId,
        limit: usize,
    ) -> Result<Vec<String>, DbError> {
        let prefix = parse_key(company.as_str())?;
        Ok(self
            .list_where(&prefix, limit, |_| true)
            .await?
            .into_iter()
            .map(|meta| meta.location.to_string())
            .collect())
    }

    /// Up to `limit` of the objects under `prefix` that `keep` accepts, in
    /// the store's order. A prefix the local store never wrote to (no
    /// directory) lists nothing.
    pub(crate) async fn list_where(
        &self,
        prefix: &Path,
        limit: usize,
        keep: impl Fn(&ObjectMeta) -> bool,
    ) -> Result<Vec<ObjectMeta>, DbError> {
        let mut listing = self.inner()?.list(Some(prefix));
        let mut found = Vec::new();
        while found.len() < limit {
            match listing.next().await {
                Some(Ok(meta)) if keep(&meta) => found.push(meta),
                Some(Ok(_)) => {}
                Some(Err(object_store::Error::NotFound { .. })) | None => break,
                Some(Err(e)) => return Err(store_err(e)),
            }
        }
        Ok(found)
    }

    /// Deletes up to `limit` of the objects under `{company}/` (see
    /// [`FileStore::list_prefix`]); answers how many, 0 once none is left.
    /// Idempotent: an object already gone is no error.
    pub async fn delete_prefix(&self, company: &CompanyId, limit: usize) -> Result<u64, DbError> {
        let keys = self.list_prefix(company, limit).await?;
        let paths = keys
            .iter()
            .map(|k| parse_key(k))
            .collect::<Result<Vec<_>, _>>()?;
        let n = paths.len();
        let mut deleted = self
            .inner()?
            .delete_stream(futures::stream::iter(paths.into_iter().map(Ok)).boxed());
        while let Some(r) = deleted.next().await {
            match r {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_err(e)),
            }
        }
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    /// Reaches the store with its credentials: a HEAD of a key that need
    /// not exist (`metiva check`). Found or not found both mean reachable
    /// and authorised; refused credentials or an outage are errors.
    pub async fn probe(&self) -> Result<(), DbError> {
        let path = parse_key(".metiva-probe")?;
        match self.inner()?.head(&path).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err(e)),
        }
    }
}

/// A stored file's metadata.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = stored_files, check_for_backend(diesel::pg::Pg))]
pub struct StoredFile {
    pub id: Uuid,
    pub purpose: String,
    pub invoice_id: Option<Uuid>,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: Vec<u8>,
    pub object_key: String,
    pub key_id: String,
    pub nonce: Vec<u8>,
    pub deal_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
}

/// What to store: the owner, name and type; the caller has checked the
/// content (its own rendering, or an upload checked by content).
pub struct NewFile<'a> {
    pub purpose: &'static str,
    pub invoice_id: Option<Uuid>,
    /// An upload's record: a deal or an organisation (see `attachments`).
    pub deal_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    /// The object key below the company: `invoices/{id}.pdf`.
    pub key_suffix: &'a str,
    pub name: &'a str,
    pub content_type: &'static str,
    pub bytes: &'a [u8],
}

fn context<'a>(company: &'a str, id: &'a str) -> FieldContext<'a> {
    FieldContext {
        company_id: company,
        table: CONTENT_TABLE,
        column: CONTENT_COLUMN,
        row_id: id,
    }
}

/// Seals and writes the contents, then records the metadata in the
/// caller's transaction. The object is written first: if the transaction
/// then rolls back, a retry writes the same key again (an orphan is
/// overwritten, never referenced). The company's data key must be loaded.
pub async fn store(
    tc: &mut TenantConn<'_>,
    files: &FileStore,
    keys: &KeyRing,
    f: &NewFile<'_>,
) -> Result<Uuid, DbError> {
    if f.bytes.is_empty() || f.bytes.len() > MAX_FILE_BYTES {
        return Err(DbError::Rejected(format!(
            "a file holds 1 to {MAX_FILE_BYTES} bytes"
        )));
    }
    let company = tc.company().as_str().to_string();
    let id = Uuid::new_v4();
    let id_s = id.to_string();
    let sealed = keys
        .seal(f.bytes, &context(&company, &id_s))
        .map_err(|e| DbError::Internal(format!("sealing a file: {e}")))?;
    let key = format!("{company}/{}", f.key_suffix);
    files.put(&key, sealed.ciphertext).await?;
    let sha = Sha256::digest(f.bytes).to_vec();
    diesel::insert_into(stored_files::table)
        .values((
            stored_files::company_id.eq(&company),
            stored_files::id.eq(id),
            stored_files::purpose.eq(f.purpose),
            stored_files::invoice_id.eq(f.invoice_id),
            stored_files::deal_id.eq(f.deal_id),
            stored_files::organisation_id.eq(f.organisation_id),
            stored_files::name.eq(f.name),
            stored_files::content_type.eq(f.content_type),
            stored_files::size_bytes.eq(i64::try_from(f.bytes.len()).unwrap_or(i64::MAX)),
            stored_files::sha256.eq(sha),
            stored_files::object_key.eq(&key),
            stored_files::key_id.eq(&sealed.key_id),
            stored_files::nonce.eq(sealed.nonce.to_vec()),
        ))
        .execute(tc.conn())
        .await?;
    Ok(id)
}

/// An invoice's PDF, if it has been rendered (under the caller's binding).
pub async fn invoice_pdf(
    tc: &mut TenantConn<'_>,
    invoice: Uuid,
) -> Result<Option<StoredFile>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(stored_files::table
        .filter(stored_files::company_id.eq(&company))
        .filter(stored_files::purpose.eq("invoice_pdf"))
        .filter(stored_files::invoice_id.eq(invoice))
        .select(StoredFile::as_select())
        .first(tc.conn())
        .await
        .optional()?)
}

/// Reads and opens a stored file of `company` (whose data key must be
/// loaded): the cipher's tag and the SHA-256 must both match.
pub async fn open(
    files: &FileStore,
    keys: &KeyRing,
    company: &str,
    f: &StoredFile,
) -> Result<Vec<u8>, DbError> {
    // The key must be this company's: never follow a key outside it.
    if !f.object_key.starts_with(&format!("{company}/")) {
        return Err(DbError::Internal("object key outside its company".into()));
    }
    let ciphertext = files.get(&f.object_key).await?;
    let nonce: [u8; 12] = f
        .nonce
        .as_slice()
        .try_into()
        .map_err(|_| DbError::Internal("bad nonce".into()))?;
    let sealed = Sealed {
        key_id: f.key_id.clone(),
        nonce,
        ciphertext,
    };
    let id = f.id.to_string();
    let plain = keys
        .open(&sealed, &context(company, &id))
        .map_err(|e| DbError::Internal(format!("opening a file: {e}")))?;
    if Sha256::digest(&plain).as_slice() != f.sha256.as_slice() {
        return Err(DbError::Internal("a file's SHA-256 does not match".into()));
    }
    Ok(plain)
}
